package strictjson

import (
	"encoding/json"
	"strings"
	"testing"
)

var validSamples = []string{
	``, ` `, `{`, `}`, `[`, `]`, `{}`, `[]`, ` [ ] `, `{"a":}`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a":1 "b":2}`,
	`"`, `"\`, `"\"`, `"\u12"`, `"\u123g"`, `"\u1234"`, `"\x"`, "\"\x01\"", "\"\xff\"", `"\/\b\f\n\r\t\\\""`,
	`0`, `-`, `-0`, `01`, `1.`, `.1`, `1.5`, `1e`, `1e+`, `1e+5`, `1E-05`, `-1.5e10`, `2a`, `+1`, `1 2`,
	`t`, `tru`, `true`, `truex`, `false`, `fals`, `null`, `nul`, `nullnull`, `[true,false,null]`,
	`{"a":{"b":[1,{"c":"d"}]}}`, `{"a":1}x`, ` {"a" : [ 1 , 2 ] } `, "\t\n\r 1 \t\n\r", `[[]]]`, `[{]}`, `{[]}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000), strings.Repeat("[", 10000) + "{}" + strings.Repeat("]", 10000),
}

func checkValid(t *testing.T, data []byte) {
	if got, want := Valid(data), json.Valid(data); got != want {
		t.Fatalf("Valid(%.80q) = %v, json.Valid %v", data, got, want)
	}
}

func TestValidAgainstEncodingJSON(t *testing.T) {
	for _, s := range append(validSamples, samples...) {
		checkValid(t, []byte(s))
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range append(validSamples[:len(validSamples)-4], samples...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkValid(t, data) })
}

func BenchmarkValid(b *testing.B) {
	data := []byte(`{"eventId":"evt-000007","leadId":"L-000007","sourceId":"S-77","subscription":"123-ABC-456","endpoint":"/rest/v1/leads.json","attemptedAt":"2026-11-23T05:00:00Z","requestContent":{"action":"createOrUpdate","lookupField":"email","input":[{"email":"lead000007@example.com","firstName":"Ada","lastName":"Lovelace7","company":"Analytical Engines","numberOfEmployees":1234}]},"response":{"marketoResponse":{"requestId":"demo#1","success":false,"errors":[{"code":"604","message":"Request timed out"}]},"errors":["Request timed out"],"endpoint":"/rest/v1/leads.json","handleTimeout":false,"failed":true}}`)
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !json.Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
}
