package status

import (
	"encoding/json"
	"time"
)

// Duration is a time.Duration written in JSON as Go writes it ("1m30s"),
// with its seconds alongside for machines.
type Duration time.Duration

// MarshalJSON writes {"text":"1m30s","seconds":90}.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Text    string  `json:"text"`
		Seconds float64 `json:"seconds"`
	}{time.Duration(d).String(), time.Duration(d).Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v struct {
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Duration(v.Seconds * float64(time.Second))
	return nil
}
