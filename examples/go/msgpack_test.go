// SPDX-License-Identifier: Apache-2.0

package t1071detect_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	t1071 "github.com/t1071detect/t1071detect-go"
)

// mpValue writes the next JSON value of dec as msgpack (objects as maps in
// their key order, integers as integers, other numbers as float64).
func mpValue(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		var kids bytes.Buffer
		n := 0
		for dec.More() {
			if v == '{' {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				mpString(&kids, k.(string))
			}
			if err := mpValue(dec, &kids); err != nil {
				return err
			}
			n++
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return err
		}
		head := byte(0xdd)
		if v == '{' {
			head = 0xdf
		}
		out.WriteByte(head)
		binary.Write(out, binary.BigEndian, uint32(n))
		out.Write(kids.Bytes())
	case string:
		mpString(out, v)
	case json.Number:
		s := v.String()
		if i, err := strconv.ParseInt(s, 10, 64); err == nil && !strings.ContainsAny(s, ".eE") {
			out.WriteByte(0xd3)
			binary.Write(out, binary.BigEndian, i)
		} else {
			f, _ := strconv.ParseFloat(s, 64)
			out.WriteByte(0xcb)
			binary.Write(out, binary.BigEndian, math.Float64bits(f))
		}
	case bool:
		if v {
			out.WriteByte(0xc3)
		} else {
			out.WriteByte(0xc2)
		}
	case nil:
		out.WriteByte(0xc0)
	}
	return nil
}

func mpString(out *bytes.Buffer, s string) {
	out.WriteByte(0xdb)
	binary.Write(out, binary.BigEndian, uint32(len(s)))
	out.WriteString(s)
}

func toMsgpack(t *testing.T, line string) []byte {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var out bytes.Buffer
	if err := mpValue(dec, &out); err != nil && err != io.EOF {
		t.Fatalf("encoding %q: %v", line, err)
	}
	return out.Bytes()
}

func sampleLines(t *testing.T) []string {
	f, err := os.Open(filepath.Join(sourceDir(), "examples", "sample", "sample.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

// The msgpack entry points read a record as the JSON ones do: the same
// Event bytes, and fed to a detector the same alerts and stats.
func TestMsgpackEqualsJSON(t *testing.T) {
	lines := sampleLines(t)
	a, err := t1071.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := t1071.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i, line := range lines {
		m := toMsgpack(t, line)
		ej, err1 := t1071.EventFromJSON([]byte(line), uint64(i+1))
		em, err2 := t1071.EventFromMsgpack(m, uint64(i+1), "")
		if err1 != nil || err2 != nil || !bytes.Equal(ej, em) {
			t.Fatalf("line %d: %v / %v, events differ", i+1, err1, err2)
		}
		if err := a.FeedJSON([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if err := b.FeedMsgpack(m); err != nil {
			t.Fatal(err)
		}
	}
	a.Flush()
	b.Flush()
	ja, _ := a.PollAlertsJSON()
	jb, _ := b.PollAlertsJSON()
	if len(ja) == 0 || !reflect.DeepEqual(ja, jb) {
		t.Fatalf("%d alerts from JSON, %d from msgpack, or they differ", len(ja), len(jb))
	}
	sa, _ := a.Stats()
	sb, _ := b.Stats()
	if !reflect.DeepEqual(sa, sb) {
		t.Fatalf("stats differ: %v vs %v", sa, sb)
	}
}

func TestMsgpackBad(t *testing.T) {
	d, err := t1071.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, m := range [][]byte{{0x93, 1, 2, 3}, {0xc1}, {0x81, 0xa1, 'a', 0xdb, 0xff, 0xff, 0xff, 0xf0}} {
		if err := d.FeedMsgpack(m); !errors.Is(err, t1071.ErrJSON) || !strings.Contains(err.Error(), "msgpack") {
			t.Fatalf("%x: %v, want ErrJSON saying msgpack", m, err)
		}
		if _, err := t1071.EventFromMsgpack(m, 0, ""); !errors.Is(err, t1071.ErrJSON) {
			t.Fatalf("EventFromMsgpack %x: %v", m, err)
		}
	}
	if _, err := t1071.EventFromMsgpack([]byte{0x80}, 0, "nope"); !errors.Is(err, t1071.ErrInvalidArg) {
		t.Fatalf("unknown source: %v", err)
	}
}
