package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"
)

// chicago is where Marketo's day ends.
var chicago = mustLoc("America/Chicago")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return l
}

func funcs(now func() time.Time) template.FuncMap {
	return template.FuncMap{
		"age":   age,
		"until": func(t time.Time) string { return age(t.Sub(now())) },
		"clock": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("15:04:05") + " UTC"
		},
		"chicago": func(t time.Time) string { return t.In(chicago).Format("Mon 15:04 MST") },
		"groupURL": func(sub, code, field string) string {
			v := url.Values{"code": {code}}
			if field != "" {
				v.Set("field", field)
			}
			return "/ui/sub/" + url.PathEscape(sub) + "/parked?" + v.Encode()
		},
		"pageURL": func(sub, code, field string, n int) string {
			v := url.Values{"code": {code}, "page": {fmt.Sprint(n)}}
			if field != "" {
				v.Set("field", field)
			}
			return "/ui/sub/" + url.PathEscape(sub) + "/parked?" + v.Encode()
		},
		"pct": func(a, b int) string {
			if b <= 0 {
				return "–"
			}
			return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
		},
		"add":   func(a, b int) int { return a + b },
		"join":  strings.Join,
		"short": func(d time.Duration) string { return age(d) },
	}
}

// age writes a duration the way people read one: 45s, 12m, 3h05m.
func age(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
