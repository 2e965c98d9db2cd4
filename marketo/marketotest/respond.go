package marketotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Reason is a record-level reason, as in Marketo's "reasons" array.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Result is one entry of Marketo's "result" array.
type Result struct {
	ID      int64    `json:"id,omitempty"`
	Status  string   `json:"status"`
	Reasons []Reason `json:"reasons,omitempty"`
}

type envelope struct {
	RequestID string   `json:"requestId"`
	Success   bool     `json:"success"`
	Result    []Result `json:"result,omitempty"`
	Errors    []Reason `json:"errors,omitempty"`
}

func requestID(at time.Time) string {
	return fmt.Sprintf("%x#%x", requestSeq.Add(1)&0xfffff, at.UnixMilli())
}

// apiError is a response-level error: HTTP 200, success:false.
func apiError(c *callState, code, msg string) answer {
	c.code = code
	b, _ := json.Marshal(envelope{RequestID: requestID(c.at), Errors: []Reason{{Code: code, Message: msg}}})
	return answer{status: http.StatusOK, ctype: "application/json;charset=UTF-8", body: b}
}

// httpPage is an HTTP-level error with the HTML page a front proxy gives.
func httpPage(c *callState, status int, title string) answer {
	c.code = fmt.Sprint(status)
	body := "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" +
		title + "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	return answer{status: status, ctype: "text/html", body: []byte(body)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
