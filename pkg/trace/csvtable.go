package trace

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// columnSet is the header a CSV must have: all required columns, any of the
// optional ones, in any order, nothing else.
type columnSet struct {
	required, optional []string
}

// table reads a CSV with a header, by column name.
type table struct {
	file string
	r    *csv.Reader
	cols map[string]int // name → 0-based index
	rec  []string
	pos  int // line of the current record
}

func newTable(in io.Reader, file string, want columnSet) (*table, error) {
	r := csv.NewReader(in)
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, &Error{File: file, Line: 1, Reason: fmt.Sprintf("empty file: want a header with columns %s", strings.Join(want.required, ","))}
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	t := &table{file: file, r: r, cols: map[string]int{}}
	known := map[string]bool{}
	for _, c := range append(append([]string{}, want.required...), want.optional...) {
		known[c] = true
	}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !known[h] {
			return nil, &Error{File: file, Line: 1, Column: i + 1, Field: h,
				Reason: fmt.Sprintf("unknown column %q: the header has %s and optionally %s", h,
					strings.Join(want.required, ","), strings.Join(want.optional, ","))}
		}
		if j, dup := t.cols[h]; dup {
			return nil, &Error{File: file, Line: 1, Column: i + 1, Field: h, Reason: fmt.Sprintf("column %q repeats column %d", h, j+1)}
		}
		t.cols[h] = i
	}
	var missing []string
	for _, c := range want.required {
		if _, ok := t.cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, &Error{File: file, Line: 1, Reason: fmt.Sprintf("header lacks column(s) %s: want %s", strings.Join(missing, ","), strings.Join(want.required, ","))}
	}
	r.FieldsPerRecord = len(header)
	return t, nil
}

func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		reason := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			reason = "wrong number of fields: the header has a different count"
		}
		return &Error{File: file, Line: pe.Line, Column: pe.Column, Reason: reason}
	}
	return fmt.Errorf("%s: %w", file, err)
}

// next reads the next record; false at the end.
func (t *table) next() (bool, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, csvError(t.file, err)
	}
	t.rec = rec
	t.pos, _ = t.r.FieldPos(0)
	return true, nil
}

func (t *table) line() int { return t.pos }

func (t *table) has(col string) bool { _, ok := t.cols[col]; return ok }

func (t *table) get(col string) string {
	i, ok := t.cols[col]
	if !ok {
		return ""
	}
	return t.rec[i]
}

func (t *table) errorf(col, format string, args ...interface{}) error {
	e := &Error{File: t.file, Line: t.pos, Field: col, Reason: fmt.Sprintf(format, args...)}
	if i, ok := t.cols[col]; ok {
		e.Column = i + 1
		e.Line, _ = t.r.FieldPos(i)
	}
	return e
}

// int parses a non-negative integer column.
func (t *table) int(col string) (int64, error) {
	s := strings.TrimSpace(t.get(col))
	if s == "" {
		return 0, t.errorf(col, "empty: want a non-negative integer")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, t.errorf(col, "%q is not an integer", s)
	}
	if v < 0 {
		return 0, t.errorf(col, "%d is negative", v)
	}
	return v, nil
}

// name reads an object name column.
func (t *table) name(col string) (string, error) {
	s := strings.TrimSpace(t.get(col))
	if s == "" {
		return "", t.errorf(col, "empty name")
	}
	if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 {
		return "", t.errorf(col, "%q is not a valid object name: %s", s, strings.Join(errs, "; "))
	}
	return s, nil
}

// rows calls fn for every data row with the row's name, read from nameCol;
// a name given twice is refused with the line that first gave it.
func (t *table) rows(nameCol, kind string, fn func(name string) error) error {
	seen := map[string]int{}
	for {
		ok, err := t.next()
		if err != nil || !ok {
			return err
		}
		name, err := t.name(nameCol)
		if err != nil {
			return err
		}
		if prev, dup := seen[name]; dup {
			return t.errorf(nameCol, "%s %q already defined on line %d", kind, name, prev)
		}
		seen[name] = t.line()
		if err := fn(name); err != nil {
			return err
		}
	}
}
