package graph

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The $filter language: a small OData parser. It reads the whole expression grammar Graph's
// clients write (comparisons, startswith, lambda any, and, or, not, parentheses), so that a
// filter that does not parse is told apart from one that parses but asks for more than Portier
// answers: the first is 400 Request_BadRequest naming where it broke, the second 400
// Request_UnsupportedQuery naming what is not supported. Nothing is ever ignored.

// maxFilterBytes bounds a $filter; maxFilterDepth bounds its nesting.
const (
	maxFilterBytes = 2048
	maxFilterDepth = 16
)

// node is a parsed filter expression.
type node interface{ String() string }

// literal is a constant: a string, an integer, a boolean, a date-time or null.
type literal struct {
	kind string // "string", "int", "bool", "datetime", "null"
	str  string
	num  int64
	b    bool
	t    time.Time
}

// compare is "path op value".
type compare struct {
	path  string // e.g. userPrincipalName, status/errorCode, t/id
	op    string // eq ne gt ge lt le
	value literal
}

// call is "name(path, value)": startswith, endswith, contains.
type call struct {
	name  string
	path  string
	value literal
}

// lambda is "collection/any(v: body)" or all.
type lambda struct {
	collection, op, variable string
	body                     node
}

// logical is "left and right" or "left or right"; not has no right.
type logical struct {
	op          string
	left, right node
}

func (l literal) String() string {
	switch l.kind {
	case "string":
		return "'" + strings.ReplaceAll(l.str, "'", "''") + "'"
	case "int":
		return strconv.FormatInt(l.num, 10)
	case "bool":
		return strconv.FormatBool(l.b)
	case "datetime":
		return l.t.Format(time.RFC3339Nano)
	}
	return "null"
}
func (c compare) String() string { return c.path + " " + c.op + " " + c.value.String() }
func (c call) String() string    { return c.name + "(" + c.path + "," + c.value.String() + ")" }
func (l lambda) String() string {
	return l.collection + "/" + l.op + "(" + l.variable + ":" + l.body.String() + ")"
}
func (l logical) String() string {
	if l.op == "not" {
		return "not (" + l.left.String() + ")"
	}
	return "(" + l.left.String() + " " + l.op + " " + l.right.String() + ")"
}

// token kinds of the lexer.
const (
	tEOF = iota
	tIdent
	tString
	tNumber // an integer or a date-time, told apart by the parser
	tLParen
	tRParen
	tComma
	tColon
)

type token struct {
	kind int
	text string
	pos  int
}

// lex splits a filter into tokens.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(':
			out, i = append(out, token{tLParen, "(", i}), i+1
		case c == ')':
			out, i = append(out, token{tRParen, ")", i}), i+1
		case c == ',':
			out, i = append(out, token{tComma, ",", i}), i+1
		case c == ':':
			out, i = append(out, token{tColon, ":", i}), i+1
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("the string that starts at position %d is not closed with '", i+1)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out, i = append(out, token{tString, b.String(), i}), j+1
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && (isWordByte(s[j]) || strings.IndexByte(":.-+", s[j]) >= 0) {
				j++
			}
			out, i = append(out, token{tNumber, s[i:j], i}), j
		case isWordByte(c) || c == '$':
			j := i + 1
			for j < len(s) && (isWordByte(s[j]) || s[j] == '/' || s[j] == '.') {
				j++
			}
			out, i = append(out, token{tIdent, s[i:j], i}), j
		default:
			return nil, fmt.Errorf("unexpected character %q at position %d", rune(c), i+1)
		}
	}
	return append(out, token{tEOF, "", len(s)}), nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// parser is a recursive-descent parser over the tokens.
type parser struct {
	toks  []token
	i     int
	depth int
}

// parseFilter parses a $filter; the error says where it broke.
func parseFilter(s string) (node, error) {
	if len(s) > maxFilterBytes {
		return nil, fmt.Errorf("the filter is longer than %d bytes", maxFilterBytes)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return nil, fmt.Errorf("the filter holds a control character")
		}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, fmt.Errorf("unexpected %q at position %d", t.text, t.pos+1)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// keyword reports whether the next token is the word w (any case), and takes it if so.
func (p *parser) keyword(w string) bool {
	if t := p.peek(); t.kind == tIdent && strings.EqualFold(t.text, w) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(kind int, what string) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, fmt.Errorf("expected %s at position %d, found %s", what, t.pos+1, describe(t))
	}
	return t, nil
}

func describe(t token) string {
	if t.kind == tEOF {
		return "the end of the filter"
	}
	return strconv.Quote(t.text)
}

func (p *parser) or() (node, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = logical{op: "or", left: left, right: right}
	}
	return left, nil
}

func (p *parser) and() (node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = logical{op: "and", left: left, right: right}
	}
	return left, nil
}

func (p *parser) unary() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxFilterDepth {
		return nil, fmt.Errorf("the filter nests deeper than %d levels", maxFilterDepth)
	}
	if p.keyword("not") {
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return logical{op: "not", left: n}, nil
	}
	return p.primary()
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		return n, nil
	case tIdent:
	default:
		return nil, fmt.Errorf("expected a property or a function at position %d, found %s", t.pos+1, describe(t))
	}
	if p.peek().kind == tLParen {
		p.next()
		if coll, op, ok := cutLambda(t.text); ok {
			return p.lambda(coll, op)
		}
		return p.call(t)
	}
	op := p.next()
	if op.kind != tIdent || !isComparison(op.text) {
		return nil, fmt.Errorf("expected an operator (eq, ne, gt, ge, lt, le) after %s at position %d, found %s", t.text, op.pos+1, describe(op))
	}
	v, err := p.literal()
	if err != nil {
		return nil, err
	}
	return compare{path: t.text, op: strings.ToLower(op.text), value: v}, nil
}

func cutLambda(path string) (collection, op string, ok bool) {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "", "", false
	}
	switch strings.ToLower(path[i+1:]) {
	case "any", "all":
		return path[:i], strings.ToLower(path[i+1:]), true
	}
	return "", "", false
}

func isComparison(s string) bool {
	switch strings.ToLower(s) {
	case "eq", "ne", "gt", "ge", "lt", "le":
		return true
	}
	return false
}

// call reads the arguments of name( after its parenthesis: a property and a literal.
func (p *parser) call(name token) (node, error) {
	path, err := p.expect(tIdent, "a property")
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tComma, "','"); err != nil {
		return nil, err
	}
	v, err := p.literal()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return nil, err
	}
	return call{name: strings.ToLower(name.text), path: path.text, value: v}, nil
}

// lambda reads "v: body)" after any( or all(.
func (p *parser) lambda(collection, op string) (node, error) {
	v, err := p.expect(tIdent, "a range variable")
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tColon, "':'"); err != nil {
		return nil, err
	}
	body, err := p.or()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return nil, err
	}
	return lambda{collection: collection, op: op, variable: v.text, body: body}, nil
}

func (p *parser) literal() (literal, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return literal{kind: "string", str: t.text}, nil
	case tNumber:
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return literal{kind: "int", num: n}, nil
		}
		if at, err := time.Parse(time.RFC3339Nano, t.text); err == nil {
			return literal{kind: "datetime", t: at.UTC()}, nil
		}
		return literal{}, fmt.Errorf("%q at position %d is neither an integer nor a date-time such as 2026-11-24T09:00:00Z", t.text, t.pos+1)
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return literal{kind: "bool", b: strings.EqualFold(t.text, "true")}, nil
		case "null":
			return literal{kind: "null"}, nil
		}
	}
	return literal{}, fmt.Errorf("expected a value ('text', a number, true, false, a date-time or null) at position %d, found %s", t.pos+1, describe(t))
}

// conjuncts returns the terms of a filter that is a conjunction ("a and b and c"); an or or
// a not anywhere is not supported.
func conjuncts(n node) ([]node, error) {
	switch n := n.(type) {
	case logical:
		if n.op != "and" {
			return nil, unsupported("Unsupported query: Portier's $filter supports 'and' of conditions, not '%s'.", n.op)
		}
		l, err := conjuncts(n.left)
		if err != nil {
			return nil, err
		}
		r, err := conjuncts(n.right)
		if err != nil {
			return nil, err
		}
		return append(l, r...), nil
	}
	return []node{n}, nil
}
