package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes what fill produces to path, creating its folder; nothing
// is written when fill fails.
func WriteFile(path string, fill func(io.Writer) error) error {
	var b bytes.Buffer
	if err := fill(&b); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
