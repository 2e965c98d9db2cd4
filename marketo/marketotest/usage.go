package marketotest

import (
	"encoding/json"
	"net/http"
)

// UsagePath is Get Daily Usage: the calls counted today, the whole instance
// and per API user.
const UsagePath = "/rest/v1/stats/usage.json"

type usageUser struct {
	UserID string `json:"userId"`
	Count  int    `json:"count"`
}

type usageDay struct {
	Date  string      `json:"date"`
	Total int         `json:"total"`
	Users []usageUser `json:"users"`
}

// usage answers with the simulator's real count of today's quota (the same
// figure QuotaUsed returns, this call included, as Marketo counts it), all of
// it spent by the one API user, the identity's scope.
func (s *Sim) usage(c *callState) answer {
	c.code = CodeOK
	s.mu.Lock()
	s.rollDayLocked(c.at)
	day := usageDay{Date: s.lim.day, Total: s.lim.used, Users: []usageUser{{UserID: s.opts.Scope, Count: s.lim.used}}}
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"requestId": requestID(c.at), "success": true, "result": []usageDay{day}})
	return answer{status: http.StatusOK, ctype: "application/json;charset=UTF-8", body: b}
}
