package main

import (
	"encoding/json"
	"io"

	"sigs.k8s.io/yaml"
)

// writeStructured prints v as -o json (indented) or -o yaml and reports
// whether format was one of those; any other format is the verb's own text.
func writeStructured(out io.Writer, format string, v any) (bool, error) {
	switch format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return true, enc.Encode(v)
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = out.Write(data)
		return true, err
	}
	return false, nil
}
