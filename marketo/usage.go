package marketo

import (
	"context"
	"encoding/json"
	"fmt"
)

// UsagePath is Get Daily Usage.
const UsagePath = "/rest/v1/stats/usage.json"

// Usage is one day of Marketo's call count: Total for the whole instance
// (every integration), Users split by API user.
type Usage struct {
	Date  string // the Marketo day, YYYY-MM-DD (Central Time)
	Total int
	Users map[string]int // API user → calls
}

// Mine is the count of apiUser when the answer lists it, else the
// instance's total (the larger, so the safe side), and which it is.
func (u Usage) Mine(apiUser string) (count int, ofUser bool) {
	if n, ok := u.Users[apiUser]; ok && apiUser != "" {
		return n, true
	}
	return u.Total, false
}

// Usage calls Get Daily Usage (GET /rest/v1/stats/usage.json): today's
// calls. It costs one call of the quota (admit it like any other). Errors
// are those of Post; an answer without a day is a *BadResponseError.
func (c *Client) Usage(ctx context.Context) (Usage, error) {
	if c.APIUser() == "" {
		// The shared token came from another replica, so this one has not
		// seen the identity's scope (the API user): ask identity, which
		// Marketo does not count, so that Mine can pick the user's count.
		_, _, _ = c.identity(ctx)
	}
	resp, err := c.DoGet(ctx, UsagePath, nil)
	if err != nil {
		return Usage{}, fmt.Errorf("marketo: usage: %w", err)
	}
	var days []struct {
		Date  string `json:"date"`
		Total int    `json:"total"`
		Users []struct {
			UserID string `json:"userId"`
			Count  int    `json:"count"`
		} `json:"users"`
	}
	if err := json.Unmarshal(resp.Result, &days); err != nil || len(days) == 0 {
		return Usage{}, &BadResponseError{Status: 200, Reason: "usage answer without a day"}
	}
	d := days[len(days)-1] // today's is the last one listed
	u := Usage{Date: d.Date, Total: d.Total, Users: make(map[string]int, len(d.Users))}
	for _, x := range d.Users {
		u.Users[x.UserID] += x.Count
	}
	return u, nil
}

// APIUser is the API user the identity call named (its "scope"), "" until
// this client made an identity call (Usage makes one when needed).
func (c *Client) APIUser() string {
	if p := c.scope.Load(); p != nil {
		return *p
	}
	return ""
}
