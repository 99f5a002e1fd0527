package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	goccy "github.com/goccy/go-yaml"
	goccyparser "github.com/goccy/go-yaml/parser"
	"gopkg.in/yaml.v3"
)

// Load reads and parses a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates the scenario in data; file names it in
// errors. On failure the error is an *Errors listing every problem found
// (up to 20), each with its line, column and field.
func Parse(file string, data []byte) (s *Scenario, err error) {
	d := &decoder{collector: collector{file: file}}
	defer func() {
		// yaml.v3 turns its own failures into errors but re-panics on
		// anything else; a bad file must never take the process down.
		if r := recover(); r != nil {
			d.add(1, 0, "", "yaml: internal error: %v", r)
			s, err = nil, d.err()
		}
	}()
	root := d.document(data)
	if root == nil {
		return nil, d.err()
	}
	s = d.scenario(root)
	if err := d.err(); err != nil {
		return nil, err
	}
	s.File = file
	s.Source = bytes.Clone(data)
	return s, nil
}

// document checks that data is a single YAML document whose top level is
// a mapping, and returns that mapping.
func (d *decoder) document(data []byte) *yaml.Node {
	const emptyMsg = "file is empty; a scenario needs at least name, description, duration and load"
	if len(data) > maxFileSize {
		d.add(1, 0, "", "file is %d bytes; a scenario file is at most 1 MiB", len(data))
		return nil
	}
	if line, col, msg := findNonText(data); msg != "" {
		d.add(line, col, "", "not a text file: %s", msg)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.add(1, 1, "", emptyMsg)
		} else {
			d.yamlError(err, data)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.yamlError(err, data)
		return nil
	default:
		d.add(next.Line, next.Column, "", "a scenario file holds one YAML document; another one starts here")
	}
	if len(doc.Content) == 0 {
		d.add(1, 1, "", emptyMsg)
		return nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		d.add(1, 1, "", emptyMsg)
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorAt(root, "", "the top level must be a mapping of scenario fields (name: ..., load: ...), got %s", describe(root))
		return nil
	}
	return root
}

var (
	yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// yamlError reports a syntax error. yaml.v3 names the line of the
// construct that failed, often not the line of the mistake, and no column;
// goccy/go-yaml's parser points at the offending token, so when it rejects
// the file too, its position and words are used.
func (d *decoder) yamlError(err error, data []byte) {
	line, col, msg := 1, 0, strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineError.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if pl, pc, pmsg, ok := syntaxPosition(data); ok {
		line, col, msg = pl, pc, pmsg
	} else if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		// Neither parser places this one: find the alias in the text.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
			col = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		}
	}
	// The most common trap: {key} unquoted inside a {...} mapping, where
	// braces are syntax. The parsers' words for it do not say so.
	if strings.Contains(msg, "'}'") || strings.Contains(msg, "']'") {
		if lines := bytes.Split(data, []byte("\n")); line >= 1 && line <= len(lines) && bytes.Contains(lines[line-1], []byte("{key}")) {
			msg += `; inside {...} quote values that contain braces: request: "GET /items/{key}"`
		}
	}
	d.add(line, col, "", "YAML syntax: %s", msg)
}

// syntaxPosition asks goccy/go-yaml where data's syntax error is. Its
// parser slows down more than linearly with nesting (a second for 16k
// nested brackets), so it is only asked about files shaped like scenarios:
// small, short lines, shallow flow nesting.
func syntaxPosition(data []byte) (line, col int, msg string, ok bool) {
	if !plainShape(data) {
		return 0, 0, "", false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_, err := goccyparser.ParseBytes(data, 0)
	var se *goccy.SyntaxError
	if !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil || se.Token.Position.Line < 1 {
		return 0, 0, "", false
	}
	return se.Token.Position.Line, se.Token.Position.Column, se.Message, true
}

func plainShape(data []byte) bool {
	const maxSize, maxLine, maxDepth = 64 << 10, 4 << 10, 64
	if len(data) > maxSize {
		return false
	}
	depth, lineStart := 0, 0
	for i, c := range data {
		switch c {
		case '[', '{':
			if depth++; depth > maxDepth {
				return false
			}
		case ']', '}':
			depth = max(depth-1, 0)
		case '\n':
			if i-lineStart > maxLine {
				return false
			}
			lineStart = i + 1
		}
	}
	return len(data)-lineStart <= maxLine
}

// findNonText returns the position of the first byte that cannot be in a
// YAML file: invalid UTF-8 or a control character. Binary junk then gets
// a clear message instead of a parser's guess.
func findNonText(data []byte) (line, col int, msg string) {
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return line, col, fmt.Sprintf("byte 0x%02x is not valid UTF-8", data[i])
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r == 0x7f, r >= 0x80 && r <= 0x9f && r != 0x85, r == 0xfffe, r == 0xffff:
			return line, col, fmt.Sprintf("control character %U", r)
		case r == 0xfeff && i > 0:
			return line, col, "byte order mark inside the file"
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return 0, 0, ""
}
