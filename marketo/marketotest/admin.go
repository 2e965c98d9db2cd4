package marketotest

import (
	"encoding/json"
	"net/http"
	"time"
)

// AdminPrefix is where AdminHandler serves.
const AdminPrefix = "/_sim/"

// FaultsJSON is the JSON form of Faults used by the admin endpoint and
// cmd/marketo-sim, with SlowDelay as a Go duration string ("2s").
type FaultsJSON struct {
	Seed          uint64  `json:"seed"`
	Rate604       float64 `json:"rate604"`
	Rate608       float64 `json:"rate608"`
	Rate611       float64 `json:"rate611"`
	Rate713       float64 `json:"rate713"`
	Rate502       float64 `json:"rate502"`
	RateHTML      float64 `json:"rateHTML"`
	RateTruncated float64 `json:"rateTruncated"`
	RateDrop      float64 `json:"rateDrop"`
	RateSlow      float64 `json:"rateSlow"`
	SlowDelay     string  `json:"slowDelay,omitempty"`
}

// Faults converts to Faults.
func (f FaultsJSON) Faults() (Faults, error) {
	out := Faults{Seed: f.Seed, Rate604: f.Rate604, Rate608: f.Rate608, Rate611: f.Rate611,
		Rate713: f.Rate713, Rate502: f.Rate502, RateHTML: f.RateHTML, RateTruncated: f.RateTruncated,
		RateDrop: f.RateDrop, RateSlow: f.RateSlow}
	if f.SlowDelay != "" {
		d, err := time.ParseDuration(f.SlowDelay)
		if err != nil {
			return Faults{}, err
		}
		out.SlowDelay = d
	}
	return out, out.Validate()
}

// AdminHandler serves the simulator's state as JSON for tests in other
// processes (cmd/marketo-sim mounts it at AdminPrefix):
//
//	GET  /_sim/stats                          Stats
//	GET  /_sim/calls                          CallLog
//	GET  /_sim/answered                       AnsweredLog (with Options.AnsweredLogSize)
//	GET  /_sim/quota                          {"used": n}
//	GET  /_sim/leads?count                    {"count": n}
//	GET  /_sim/leads?lookupField=email&value=x  the matching leads
//	GET  /_sim/leads                          every lead
//	POST /_sim/faults   body FaultsJSON       SetFaults
//	POST /_sim/revoke                         RevokeTokens
//	POST /_sim/pause, /_sim/resume            Pause, Resume
//	POST /_sim/reset?what=stats|leads|limits  the Reset helpers (all three without what)
func (s *Sim) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Stats()) })
	mux.HandleFunc("GET /_sim/calls", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.CallLog()) })
	mux.HandleFunc("GET /_sim/answered", func(w http.ResponseWriter, _ *http.Request) {
		log := s.AnsweredLog()
		if log == nil {
			log = []Answered{}
		}
		writeJSON(w, 200, log)
	})
	mux.HandleFunc("GET /_sim/quota", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]int{"used": s.QuotaUsed()})
	})
	mux.HandleFunc("GET /_sim/leads", s.adminLeads)
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var fj FaultsJSON
		if err := json.NewDecoder(r.Body).Decode(&fj); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		f, err := fj.Faults()
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.SetFaults(f)
		writeJSON(w, 200, fj)
	})
	action := func(f func()) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { f(); writeJSON(w, 200, map[string]bool{"ok": true}) }
	}
	mux.HandleFunc("POST /_sim/revoke", action(s.RevokeTokens))
	mux.HandleFunc("POST /_sim/pause", action(s.Pause))
	mux.HandleFunc("POST /_sim/resume", action(s.Resume))
	mux.HandleFunc("POST /_sim/reset", s.adminReset)
	return mux
}

func (s *Sim) adminLeads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Has("count"):
		writeJSON(w, 200, map[string]int{"count": s.LeadCount()})
	case q.Has("value"):
		field := q.Get("lookupField")
		if field == "" {
			field = "email"
		}
		ls := s.LeadsBy(field, q.Get("value"))
		if ls == nil {
			ls = []map[string]any{}
		}
		writeJSON(w, 200, ls)
	default:
		writeJSON(w, 200, s.Leads())
	}
}

func (s *Sim) adminReset(w http.ResponseWriter, r *http.Request) {
	resets := map[string]func(){"stats": s.ResetStats, "leads": s.ResetLeads, "limits": s.ResetLimits}
	what := r.URL.Query().Get("what")
	if what == "" {
		for _, f := range resets {
			f()
		}
	} else if f, ok := resets[what]; ok {
		f()
	} else {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "what must be stats, leads or limits"})
		return
	}
	writeJSON(w, 200, map[string]bool{"ok": true})
}
