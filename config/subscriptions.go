package config

import (
	"fmt"
	"net/url"
	"strings"
)

func validateSubscriptions(subs []Subscription, requireSecrets bool, p *problems) {
	first := make(map[string]int, len(subs))
	for i := range subs {
		s := &subs[i]
		at := fmt.Sprintf("subscriptions[%d]", i)
		switch {
		case !MunchkinID.MatchString(s.ID):
			p.add(at+".id", "%q is not a Munchkin ID like 123-ABC-456", s.ID)
		case first[s.ID] > 0:
			p.add(at+".id", "%s is already subscriptions[%d]", s.ID, first[s.ID]-1)
		default:
			first[s.ID] = i + 1
		}
		if reason := checkEndpoint(s.Endpoint, s.AllowInsecure); reason != "" {
			p.add(at+".endpoint", "%s", reason)
		}
		if strings.TrimSpace(s.ClientID) == "" {
			p.add(at+".clientID", "required")
		}
		if requireSecrets && s.ClientSecret == "" {
			p.add(at+".clientSecret", "required (or clientSecretFile)")
		}
		s.Limits.validate(at+".limits", p)
	}
}

func (l *Limits) validate(at string, p *problems) {
	p.positive(at+".dailyQuota", int64(l.DailyQuota))
	p.positive(at+".callsPerWindow", int64(l.CallsPerWindow))
	p.positive(at+".window", int64(l.Window))
	p.positive(at+".maxConcurrency", int64(l.MaxConcurrency))
	if l.MaxConcurrency > 0 && l.CallsPerWindow > 0 && l.MaxConcurrency > l.CallsPerWindow {
		p.add(at+".maxConcurrency", "%d is more than callsPerWindow (%d): the extra slots could never be used",
			l.MaxConcurrency, l.CallsPerWindow)
	}
	if l.CallsPerWindow > 0 && l.DailyQuota > 0 && l.CallsPerWindow > l.DailyQuota {
		p.add(at+".callsPerWindow", "%d is more than dailyQuota (%d)", l.CallsPerWindow, l.DailyQuota)
	}
}

// checkEndpoint returns why s is not a Marketo REST base, or "". It never
// quotes s: a pasted URL may hold credentials.
func checkEndpoint(s string, allowInsecure bool) string {
	if s == "" {
		return "required"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "not a valid URL"
	}
	switch {
	case u.Scheme == "http" && !allowInsecure:
		return "must be https:// (set allowInsecure: true for a simulator)"
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Sprintf("scheme %q is not https", u.Scheme)
	case u.Host == "":
		return "needs a host"
	case u.User != nil:
		return "must not hold credentials: use clientID and clientSecret"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not have a query"
	case u.Fragment != "":
		return "must not have a fragment"
	case strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/rest"):
		return "drop the /rest suffix: the endpoint is the base, identity is <endpoint>/identity"
	}
	return ""
}
