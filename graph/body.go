package graph

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes bounds a request body after gunzip: a user's properties fit many times over.
const MaxBodyBytes = 64 << 10

// readBody returns the request's JSON object, its keys and raw values: gunzipped when the SDK
// gzipped it (it does by default), bounded, valid UTF-8 (Go's decoder would otherwise replace
// bad bytes silently), one JSON object and nothing after it.
func readBody(r *http.Request) (map[string]json.RawMessage, error) {
	var body io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, badRequest("Request_BadRequest", "The request body is not valid gzip: %v.", err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: "Request_UnsupportedMediaType",
			message: "The Content-Encoding '" + enc + "' is not supported: send the body plain or gzipped."}
	}
	raw, err := io.ReadAll(io.LimitReader(body, MaxBodyBytes+1))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || len(raw) > MaxBodyBytes:
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: "Request_EntityTooLarge",
			message: "The request body is larger than the limit of 65536 bytes."}
	case err != nil:
		return nil, badRequest("Request_BadRequest", "The request body cannot be read: %v.", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, badRequest("Request_BadRequest", "The Content-Type must be application/json, not '%s'.", ct)
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, badRequest("Request_BadRequest", "The request body is empty: send a JSON object.")
	}
	if !utf8.Valid(raw) {
		return nil, badRequest("Request_BadRequest", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return nil, badRequest("Request_BadRequest", "The request body is not a valid JSON object: %s.", jsonProblem(err))
	}
	if obj == nil {
		return nil, badRequest("Request_BadRequest", "The request body is null: send a JSON object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("Request_BadRequest", "The request body holds more than one JSON value.")
	}
	return obj, nil
}

// jsonProblem says what is wrong with a body, with the byte where it broke.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	case errors.As(err, &typ):
		return "expected an object, found " + typ.Value
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends too early"
	}
	return err.Error()
}

// props reads the properties of a JSON object by name, telling each wrong type, unknown and
// read-only property apart.
type props struct {
	obj  map[string]json.RawMessage
	of   string // the resource, for messages: "user", "passwordProfile"
	seen map[string]bool
}

func newProps(obj map[string]json.RawMessage, of string) *props {
	return &props{obj: obj, of: of, seen: map[string]bool{"@odata.type": true}}
}

func (p *props) has(name string) bool { _, ok := p.obj[name]; return ok }

func (p *props) isNull(name string) bool {
	v, ok := p.obj[name]
	return ok && string(bytes.TrimSpace(v)) == "null"
}

// str reads a string property into *dst, leaving it nil when absent; null is refused unless nullable.
func (p *props) str(name string, nullable bool) (*string, error) {
	p.seen[name] = true
	v, ok := p.obj[name]
	if !ok {
		return nil, nil
	}
	if p.isNull(name) {
		if nullable {
			empty := ""
			return &empty, nil
		}
		return nil, badRequest("Request_BadRequest", "Invalid value specified for property '%s' of resource '%s': it may not be null.", name, p.of)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, badRequest("Request_BadRequest", "Invalid value specified for property '%s' of resource '%s': expected a string.", name, p.of)
	}
	return &s, nil
}

// boolean reads a boolean property; nil when absent.
func (p *props) boolean(name string) (*bool, error) {
	p.seen[name] = true
	v, ok := p.obj[name]
	if !ok {
		return nil, nil
	}
	var b bool
	if p.isNull(name) || json.Unmarshal(v, &b) != nil {
		return nil, badRequest("Request_BadRequest", "Invalid value specified for property '%s' of resource '%s': expected true or false.", name, p.of)
	}
	return &b, nil
}

// object reads a nested object property; nil when absent.
func (p *props) object(name string) (*props, error) {
	p.seen[name] = true
	v, ok := p.obj[name]
	if !ok {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if p.isNull(name) || json.Unmarshal(v, &obj) != nil {
		return nil, badRequest("Request_BadRequest", "Invalid value specified for property '%s' of resource '%s': expected an object.", name, p.of)
	}
	return newProps(obj, name), nil
}

// rest refuses every property not read: read-only ones by name, others as unknown.
func (p *props) rest(readOnly, notStored []string) error {
	for name := range p.obj {
		switch {
		case p.seen[name]:
		case contains(readOnly, name):
			return badRequest("Request_BadRequest", "Property '%s' is read-only and cannot be set.", name)
		case contains(notStored, name):
			return badRequest("Request_BadRequest", "Property '%s' of resource '%s' is not supported by Portier.", name, p.of)
		default:
			return badRequest("Request_BadRequest", "Property '%s' does not exist as a declared property or extension property of resource '%s'.", name, p.of)
		}
	}
	return nil
}
