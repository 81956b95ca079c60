package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"

	yaml2 "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// MaxPolicyBytes bounds the size of a policy document: the ConfigMap that
// carries it cannot be larger anyway.
const MaxPolicyBytes = 1 << 20

// ErrEmptyPolicy is returned by Decode for a document with no content
// (empty, only whitespace and comments, or an explicit null).
var ErrEmptyPolicy = errors.New("policy document is empty: expected a PlacementPolicy with apiVersion " +
	APIVersion + " and kind " + Kind)

// Decode parses a policy document written in YAML or JSON. Decoding is
// strict: an unknown field, a duplicate key, a value of the wrong type or a
// second YAML document is an error that names the field. apiVersion and kind
// must identify a PlacementPolicy; if they do not, the error is an aggregated
// field.ErrorList (paths "apiVersion" and "kind").
//
// Decode neither defaults nor validates the result: see SetDefaults and
// Validate, or Load, which runs all steps.
func Decode(data []byte) (*PlacementPolicy, error) {
	if len(data) > MaxPolicyBytes {
		return nil, fmt.Errorf("policy document is %d bytes, more than the limit of %d bytes (1 MiB)", len(data), MaxPolicyBytes)
	}
	jsonData, err := toJSON(data)
	if err != nil {
		return nil, err
	}
	switch first := firstByte(jsonData); first {
	case 'n': // null: nothing but whitespace, comments or "---"
		return nil, ErrEmptyPolicy
	case '{':
	default:
		return nil, fmt.Errorf("policy document must be a mapping with apiVersion, kind, pools and rules, not %s", jsonKind(first))
	}

	p := &PlacementPolicy{}
	strictErrs, err := kjson.UnmarshalStrict(jsonData, p)
	if err != nil {
		return nil, fmt.Errorf("decoding policy: %s", describeDecodeError(err))
	}
	// A document that is not a PlacementPolicy at all is best told so rather
	// than flooded with its unknown fields.
	if errs := validateTypeMeta(p); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return nil, &StrictDecodingError{Messages: msgs, Partial: p}
	}
	return p, nil
}

// StrictDecodingError reports unknown or duplicate fields. Partial is the
// policy decoded without them, so Load can validate the rest as well and
// the admin sees every problem in one go, not one per edit.
type StrictDecodingError struct {
	Messages []string
	Partial  *PlacementPolicy
}

func (e *StrictDecodingError) Error() string {
	return "decoding policy: " + strings.Join(e.Messages, "; ")
}

// toJSON turns the document into JSON. JSON input is taken as is (YAML
// parsers reject some valid JSON, such as tab indentation); anything else is
// parsed as a single YAML document, rejecting duplicate keys.
func toJSON(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		// Duplicate keys surface in the strict decoding pass, with their path.
		// Invalid JSON may still be a YAML flow mapping: {apiVersion: ...}.
		return trimmed, nil
	}
	jsonData, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("parsing policy YAML: %w", err)
	}
	if moreThanOneDocument(data) {
		return nil, errors.New("policy holds more than one YAML document: put exactly one PlacementPolicy in it")
	}
	return jsonData, nil
}

// moreThanOneDocument reports whether a YAML stream has a non-empty document
// after its first one. Parse errors are left to the main decoding pass.
func moreThanOneDocument(data []byte) bool {
	d := yaml2.NewDecoder(bytes.NewReader(data))
	var skip struct{}
	if err := d.Decode(&skip); err != nil {
		var typeErr *yaml2.TypeError
		if !errors.As(err, &typeErr) { // io.EOF or a syntax error
			return false
		}
	}
	var second any
	err := d.Decode(&second)
	if errors.Is(err, io.EOF) {
		return false
	}
	return err != nil || second != nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 'n'
	}
	return b[0]
}

func jsonKind(first byte) string {
	switch {
	case first == '[':
		return "a list"
	case first == '"':
		return "a string"
	case first == 't' || first == 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// typeErrorRE matches the JSON decoder's type error, e.g. "json: cannot
// unmarshal string into Go struct field PreferredNodes.rules.Placement.preferred.weight of type int32".
var typeErrorRE = regexp.MustCompile(`^json: cannot unmarshal (.+) into Go struct field [^.]+\.(\S+) of type (\S+)$`)

// describeDecodeError rewrites the JSON decoder's type errors in policy
// terms: "rules.preferred.weight: got a string, want an integer". Unquoted
// label values, which YAML reads as numbers or booleans, get a hint.
func describeDecodeError(err error) string {
	m := typeErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	got, path, want := m[1], m[2], strings.TrimLeft(m[3], "*")
	var segs []string
	for _, seg := range strings.Split(path, ".") {
		if seg != "" && !unicode.IsUpper(rune(seg[0])) { // skip embedded Go structs (Placement)
			segs = append(segs, seg)
		}
	}
	switch {
	case got == "bool":
		got = "a boolean"
	case got == "array":
		got = "a list"
	case got == "object":
		got = "a mapping"
	case strings.HasPrefix(got, "number "):
		got = "the number " + strings.TrimPrefix(got, "number ")
	default: // string, number
		got = "a " + got
	}
	switch {
	case want == "string" || want == "policy.PackingMode" || want == "v1.LabelSelectorOperator":
		want = "a string"
	case want == "bool":
		want = "true or false"
	case strings.HasPrefix(want, "int") || strings.HasPrefix(want, "uint"):
		want = "an integer (" + want + ")"
	case strings.HasPrefix(want, "[]"):
		want = "a list"
	default: // maps and structs
		want = "a mapping"
	}
	msg := fmt.Sprintf("%s: got %s, want %s", strings.Join(segs, "."), got, want)
	if want == "a string" && (got == "a boolean" || strings.HasSuffix(got, "number") || strings.HasPrefix(got, "the number")) {
		msg += " (quote the value: YAML reads unquoted 8, 1.10, true, yes or on as a number or boolean)"
	}
	return msg
}

// validateTypeMeta checks that apiVersion and kind identify a PlacementPolicy.
func validateTypeMeta(p *PlacementPolicy) field.ErrorList {
	var errs field.ErrorList
	check := func(name, got, want string) {
		path := field.NewPath(name)
		switch got {
		case want:
		case "":
			errs = append(errs, field.Required(path, fmt.Sprintf("must be %q", want)))
		default:
			errs = append(errs, field.Invalid(path, got, fmt.Sprintf("must be %q", want)))
		}
	}
	check("apiVersion", p.APIVersion, APIVersion)
	check("kind", p.Kind, Kind)
	return errs
}
