package queue_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
)

func TestSubjects(t *testing.T) {
	s := queue.Subjects{Prefix: "dap.postout"}
	tests := []struct {
		subject string
		want    string
		ok      bool
	}{
		{"dap.postout.failed.123-ABC-456", "123-ABC-456", true},
		{"dap.postout.failed.a.b", "", false},
		{"dap.postout.failed.", "", false},
		{"dap.postout.outcome.123-ABC-456", "", false},
		{"other.failed.123-ABC-456", "", false},
	}
	for _, tt := range tests {
		got, ok := s.SubscriptionOf("failed", tt.subject)
		if got != tt.want || ok != tt.ok {
			t.Errorf("SubscriptionOf(%q) = %q, %v; want %q, %v", tt.subject, got, ok, tt.want, tt.ok)
		}
	}
	for tok, want := range map[string]bool{"123-ABC-456": true, "": false, "a.b": false, "a*": false, "a>": false, "a b": false} {
		if got := queue.ValidToken(tok); got != want {
			t.Errorf("ValidToken(%q) = %v, want %v", tok, got, want)
		}
	}
	if got := s.Failed("X"); got != "dap.postout.failed.X" {
		t.Errorf("Failed = %q", got)
	}
}

// Ensure creates what is missing and leaves what exists exactly as it is.
func TestEnsureNeverReconfigures(t *testing.T) {
	e := testenv.NATS(t)
	q := testenv.Queue(t, e.URL, queue.Options{})
	ctx := context.Background()
	// An operator changed POSTOUT_PARKED's limits; a second Ensure keeps them.
	s, err := q.JS.Stream(ctx, queue.StreamParked)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxMsgs = 12345
	if _, err := q.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := q.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := q.JS.Stream(ctx, queue.StreamParked)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.MaxMsgs; got != 12345 {
		t.Errorf("MaxMsgs %d after Ensure, want the operator's 12345", got)
	}
	for _, name := range []string{queue.StreamFailed, queue.StreamOutcomes, queue.StreamParked, queue.StreamSucceeded} {
		if _, err := q.JS.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	c1, err := q.ConsumerFor(ctx, "123-ABC-456")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := q.ConsumerFor(ctx, "123-ABC-456")
	if err != nil || c1.CachedInfo().Name != c2.CachedInfo().Name {
		t.Fatalf("second ConsumerFor: %v", err)
	}
	if _, err := q.ConsumerFor(ctx, "a.b"); err == nil {
		t.Error("a subscription with a dot made a consumer")
	}
}

// A NAK'd message stays pending on its consumer until it is redelivered:
// this is why the worker defers (republishes and acks) events through a long
// block instead of nak-ing them. If a nats-server upgrade changes this, the
// design note in docs/DESIGN.md must be revisited.
func TestNakKeepsAckPendingDeferFreesIt(t *testing.T) {
	e := testenv.NATS(t)
	q := testenv.Queue(t, e.URL, queue.Options{})
	ctx := context.Background()
	sub := "123-ABC-456"
	for i := range 10 {
		if _, err := q.PublishFailed(ctx, sub, fmt.Sprintf("e%d", i), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := q.ConsumerFor(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := cons.Fetch(10, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for m := range mb.Messages() {
		msgs = append(msgs, m)
	}
	for _, m := range msgs[:5] {
		_ = m.Nak()
	}
	b := q.NewBatch()
	for i, m := range msgs[5:] {
		b.Deferred(sub, fmt.Sprintf("e%d~d", i+5), m.Data(), time.Time{})
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs[5:] {
		_ = m.Ack()
	}
	testenv.CheckFor(t, 5*time.Second, func() error {
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumAckPending != 5 || info.NumPending != 5 {
			return fmt.Errorf("ack pending %d (want the 5 nak'd), pending %d (want the 5 deferred)", info.NumAckPending, info.NumPending)
		}
		return nil
	})
}

func TestBatchParkedScanDelete(t *testing.T) {
	e := testenv.NATS(t)
	q := testenv.Queue(t, e.URL, queue.Options{})
	ctx := context.Background()
	b := q.NewBatch()
	for i := range 5 {
		b.Parked("123-ABC-456", fmt.Sprintf("p%d", i), []byte(fmt.Sprintf(`{"eventId":"p%d"}`, i)))
	}
	b.Parked("123-ABC-456", "p0", []byte(`{"eventId":"p0","again":true}`)) // de-duplicated
	b.Parked("not a token", "x", []byte(`{"eventId":"x"}`))                // goes under "_"
	b.Outcome(&repost.Outcome{EventID: "p0", Subscription: "123-ABC-456", Kind: repost.KindParked, Code: policy.CodeOf(1006), At: time.Now()})
	b.Outcome(&repost.Outcome{EventID: "p0", Subscription: "123-ABC-456", Kind: repost.KindDiscarded, Code: policy.CodeOf(1006), At: time.Now()})
	if b.Len() != 9 {
		t.Fatalf("Len %d", b.Len())
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	err := q.ScanParked(ctx, "123-ABC-456", func(m queue.StoredMsg) (bool, error) {
		seqs = append(seqs, m.Seq)
		return true, nil
	})
	if err != nil || len(seqs) != 5 {
		t.Fatalf("scan: %d entries, %v; want 5 (one de-duplicated)", len(seqs), err)
	}
	n := 0
	_ = q.ScanParked(ctx, repost.UnknownSubscription, func(queue.StoredMsg) (bool, error) { n++; return true, nil })
	if n != 1 {
		t.Errorf("%d entries under _, want 1", n)
	}
	if err := q.DeleteParked(ctx, seqs[0]); err != nil {
		t.Fatal(err)
	}
	if err := q.DeleteParked(ctx, seqs[0]); err != nil {
		t.Errorf("deleting twice: %v (a rerun of an interrupted requeue must not fail)", err)
	}
	if _, err := q.GetParked(ctx, seqs[0]); err == nil {
		t.Error("deleted entry still readable")
	}
	outs := 0
	_ = q.ScanOutcomes(ctx, "", func(queue.StoredMsg) (bool, error) { outs++; return true, nil })
	if outs != 2 {
		t.Errorf("%d outcomes, want the parked one and the discarded one (distinct ids)", outs)
	}
}

func TestEventState(t *testing.T) {
	e := testenv.NATS(t)
	q := testenv.Queue(t, e.URL, queue.Options{})
	ctx := context.Background()
	id := "evt with spaces/and*wildcards>"
	st, err := q.LoadState(ctx, id)
	if err != nil || st != (queue.EventState{}) {
		t.Fatalf("fresh state %+v, %v", st, err)
	}
	if err := q.SaveState(ctx, id, queue.EventState{Attempts: 3, LastCode: "604"}); err != nil {
		t.Fatal(err)
	}
	if st, _ = q.LoadState(ctx, id); st.Attempts != 3 || st.LastCode != "604" {
		t.Errorf("state %+v", st)
	}
	if err := q.ForgetState(ctx, id); err != nil {
		t.Fatal(err)
	}
	if st, _ = q.LoadState(ctx, id); st.Attempts != 0 {
		t.Errorf("state after forget %+v", st)
	}
	fresh := &queue.Queue{}
	if _, err := fresh.LoadState(ctx, id); err == nil {
		t.Error("LoadState before Ensure did not fail")
	}
}

func TestEmbeddedURLFile(t *testing.T) {
	dir := t.TempDir()
	e, err := queue.StartEmbedded(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := queue.RunningURL(dir); got != e.URL {
		t.Errorf("RunningURL = %q, want %q", got, e.URL)
	}
	e.Shutdown()
	if got := queue.RunningURL(dir); got != "" {
		t.Errorf("RunningURL after shutdown = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, queue.URLFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("URL file left behind: %v", err)
	}
	if _, err := queue.StartEmbedded("", 0); err == nil {
		t.Error("embedded server without a data dir")
	}
}

func TestConnectFailsClearlyWithoutServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := queue.Connect(ctx, queue.Options{URL: "nats://127.0.0.1:1", Password: "s3cret-pw", User: "u"})
	if err == nil {
		t.Fatal("connected to nothing")
	}
	if got := err.Error(); !contains(got, "not reachable at nats://127.0.0.1:1") || contains(got, "s3cret-pw") {
		t.Errorf("error %q: want 'not reachable at' the URL, and no password", got)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	_, err = queue.Connect(ctx2, queue.Options{URL: "nats://u:s3cret-pw@127.0.0.1:1"})
	if err == nil || contains(err.Error(), "s3cret-pw") {
		t.Errorf("password in the URL leaked into %v", err)
	}
}

// A URL that does not parse is quoted whole in nats.go's error: its
// password, a NATS token (a lone user) and the password option are hidden.
func TestConnectErrorsHoldNoSecret(t *testing.T) {
	for _, o := range []queue.Options{
		{URL: "nats://u:url-SECRET@h:bad"},
		{URL: "nats://h1:4222,nats://u:url-SECRET@h2:bad"},
		{URL: "nats://tok-SECRET@h:bad"},
		{URL: "nats://h:bad/opt-SECRET", User: "u", Password: "opt-SECRET"},
	} {
		_, err := queue.Connect(context.Background(), o)
		if err == nil || !contains(err.Error(), "queue: connect: parse") || contains(err.Error(), "SECRET") {
			t.Errorf("URL %s: error %v, want the parse error without the secret", o.URL, err)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && (stringIndex(s, sub) >= 0)
}

func stringIndex(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
