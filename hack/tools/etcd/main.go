// Command etcd is etcd's own server main, built from its Go module so tests
// and the demo need no download beyond the Go module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
