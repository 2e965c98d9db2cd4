package marketotest

import (
	"encoding/json"
	"net/http"
	"sort"
)

// DescribePath is Describe Lead, which repost uses as a cheap probe call.
const DescribePath = "/rest/v1/leads/describe.json"

// SetAccessDenied makes every REST call answer 603 Access denied with msg
// (the API user lost its permissions), or stops it when msg is "".
func (s *Sim) SetAccessDenied(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied = msg
}

// SetClientSecret rotates the secret identity accepts: clients still using
// the old one get HTTP 401 from identity.
func (s *Sim) SetClientSecret(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = secret
}

func (s *Sim) clientSecret() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secret != "" {
		return s.secret
	}
	return s.opts.ClientSecret
}

type describeField struct {
	ID       int    `json:"id"`
	Name     string `json:"displayName"`
	DataType string `json:"dataType"`
	REST     struct {
		Name     string `json:"name"`
		ReadOnly bool   `json:"readOnly"`
	} `json:"rest"`
}

// describe answers Describe Lead with the simulator's schema.
func (s *Sim) describe(c *callState) answer {
	c.code = CodeOK
	names := make([]string, 0, len(s.opts.Schema))
	for n := range s.opts.Schema {
		names = append(names, n)
	}
	sort.Strings(names)
	fields := make([]describeField, len(names))
	for i, n := range names {
		fields[i].ID, fields[i].Name, fields[i].DataType = i+1, n, string(s.opts.Schema[n])
		fields[i].REST.Name = n
	}
	b, _ := json.Marshal(map[string]any{"requestId": requestID(c.at), "success": true, "result": fields})
	return answer{status: http.StatusOK, ctype: "application/json;charset=UTF-8", body: b}
}
