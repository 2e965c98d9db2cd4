package queue

import (
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StockMaxPayload is a stock nats-server's max_payload: 1 MiB.
const StockMaxPayload = 1 << 20

// HeaderRoom is what DataLimit keeps of the max payload for a message's
// headers (Nats-Msg-Id, repost's own): the server counts them in.
const HeaderRoom = 4 << 10

// MaxPayload is the largest message (headers and data) the server this
// queue is connected to accepts, read from the connection: it may change
// when the client reconnects to another server. StockMaxPayload before the
// first connection.
func (q *Queue) MaxPayload() int {
	if q.NC != nil {
		if n := q.NC.MaxPayload(); n > 0 {
			return int(n)
		}
	}
	return StockMaxPayload
}

// DataLimit is the largest data a message repost publishes may carry: the
// max payload less HeaderRoom.
func (q *Queue) DataLimit() int { return q.MaxPayload() - HeaderRoom }

// ErrPublishDenied is a publication the server refused for the connection's
// permissions.
var ErrPublishDenied = errors.New("queue: publish denied by the server's permissions")

// ErrUnsendable is a message that could not be made fit to send.
var ErrUnsendable = errors.New("queue: message cannot be sent")

// IsPermanent reports whether a publication failed for a reason that trying
// again does not cure: the message is over the server's or the stream's size
// limit, or the connection may not publish on its subject.
func IsPermanent(err error) bool {
	var ae *jetstream.APIError
	switch {
	case err == nil:
		return false
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, ErrPublishDenied), errors.Is(err, ErrUnsendable), errors.Is(err, nats.ErrPermissionViolation),
		errors.Is(err, nats.ErrBadSubject):
		return true
	case errors.As(err, &ae):
		return ae.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
	}
	return false
}

// denials records the subjects the server refused a publication on: a
// refused JetStream publication gets no answer at all, only an asynchronous
// error on the connection.
type denials struct {
	mu   sync.Mutex
	last map[string]time.Time
}

var deniedSubject = regexp.MustCompile(`(?i)publish to "([^"]+)"`)

func (d *denials) record(err error) {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return
	}
	m := deniedSubject.FindStringSubmatch(err.Error())
	if m == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil || len(d.last) > 10000 {
		d.last = map[string]time.Time{}
	}
	d.last[m[1]] = time.Now()
}

// since reports whether a publication on subject was refused at or after t.
func (d *denials) since(subject string, t time.Time) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.last[subject]
	return ok && !at.Before(t)
}
