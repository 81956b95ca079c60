package simulator

import (
	"reflect"
	"testing"
)

func TestParseConfigFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    []ConfigFlag
		wantErr string
	}{
		{name: "policy and spaces", args: []string{" ml =a.yaml:b.yaml"},
			want: []ConfigFlag{{Raw: " ml =a.yaml:b.yaml", Name: "ml", ConfigPath: "a.yaml", PolicyPath: "b.yaml"}}},
		{name: "no policy", args: []string{"stock=s.yaml"},
			want: []ConfigFlag{{Raw: "stock=s.yaml", Name: "stock", ConfigPath: "s.yaml"}}},
		{name: "no name", args: []string{"=a.yaml"}, wantErr: `--config "=a.yaml": want NAME=SCHEDCONFIG.yaml[:POLICY.yaml]`},
		{name: "no file", args: []string{"x="}, wantErr: `--config "x=": no scheduler configuration file after "x="`},
		{name: "twice", args: []string{"a=1.yaml", "a=2.yaml"}, wantErr: `--config "a=2.yaml": configuration name "a" given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfigFlags(tc.args)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestConfigFlagLoadNamesTheFile(t *testing.T) {
	_, err := ConfigFlag{Raw: "x=missing.yaml", Name: "x", ConfigPath: "missing.yaml"}.Load()
	if err == nil || err.Error() != `--config "x=missing.yaml": scheduler configuration: open missing.yaml: no such file or directory` {
		t.Fatalf("error %v", err)
	}
}
