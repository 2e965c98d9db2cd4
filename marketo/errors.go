package marketo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// APIError is a Marketo error code with its message: a response-level error
// (success:false, errors[0]) returned by Client calls, or a record-level reason
// turned into an error by Reason.Err. It matches the sentinels below with
// errors.Is by Code alone.
type APIError struct {
	Code      int
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	s := "marketo: " + strconv.Itoa(e.Code)
	if e.Message != "" {
		s += " " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Is reports whether target is an *APIError with the same Code.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Code == e.Code
}

func apiSentinel(code int, msg string) *APIError { return &APIError{Code: code, Message: msg} }

// Response-level codes (Marketo answers HTTP 200 with success:false).
var (
	ErrAccessTokenInvalid      = apiSentinel(601, "Access token invalid")
	ErrAccessTokenExpired      = apiSentinel(602, "Access token expired")
	ErrAccessDenied            = apiSentinel(603, "Access denied")
	ErrRequestTimedOut         = apiSentinel(604, "Request timed out")
	ErrMethodNotSupported      = apiSentinel(605, "HTTP Method not supported")
	ErrRateLimited             = apiSentinel(606, "Max rate limit exceeded")
	ErrDailyQuota              = apiSentinel(607, "Daily quota reached")
	ErrUnavailable             = apiSentinel(608, "API Temporarily Unavailable")
	ErrInvalidJSON             = apiSentinel(609, "Invalid JSON")
	ErrNotFound                = apiSentinel(610, "Requested resource not found")
	ErrSystemError             = apiSentinel(611, "System error")
	ErrInvalidContentType      = apiSentinel(612, "Invalid Content Type")
	ErrInvalidMultipart        = apiSentinel(613, "Invalid Multipart Request")
	ErrInvalidSubscription     = apiSentinel(614, "Invalid Subscription")
	ErrConcurrencyLimit        = apiSentinel(615, "Concurrent access limit reached")
	ErrInvalidSubscriptionType = apiSentinel(616, "Invalid subscription type")
	ErrBlankValue              = apiSentinel(701, "Value cannot be blank")
	ErrNoData                  = apiSentinel(702, "No data found for given search scenario")
	ErrInvalidDateFormat       = apiSentinel(704, "Invalid date format")
	ErrBusinessRule            = apiSentinel(709, "Business Rule Violation")
	ErrTransient               = apiSentinel(713, "Transient Error")
	ErrLockWaitTimeout         = apiSentinel(719, "Lock wait timeout exception")
)

// Record-level codes (a skipped result's reasons; see Reason.Err).
var (
	ErrInvalidValue           = apiSentinel(1001, "Invalid value")
	ErrMissingValue           = apiSentinel(1002, "Missing value for required parameter")
	ErrInvalidData            = apiSentinel(1003, "Invalid data")
	ErrLeadNotFound           = apiSentinel(1004, "Lead not found")
	ErrLeadExists             = apiSentinel(1005, "Lead already exists")
	ErrFieldNotFound          = apiSentinel(1006, "Field not found")
	ErrMultipleLeads          = apiSentinel(1007, "Multiple leads match the lookup criteria")
	ErrPartitionAccessDenied  = apiSentinel(1008, "Access denied to partition")
	ErrPartitionRequired      = apiSentinel(1009, "Partition name must be specified")
	ErrPartitionUpdate        = apiSentinel(1010, "Partition update not allowed")
	ErrFieldNotSupported      = apiSentinel(1011, "Field not supported")
	ErrObjectNotFound         = apiSentinel(1013, "Object not found")
	ErrTooManyImports         = apiSentinel(1016, "Too many imports")
	ErrImportInProgress       = apiSentinel(1019, "Import in progress")
	ErrProgramStatusNotFound  = apiSentinel(1025, "Program status not found")
	ErrTooManyJobs            = apiSentinel(1029, "Too many jobs in queue")
	ErrDuplicateObject        = apiSentinel(1036, "Duplicate object found in input")
	ErrLeadSkipped            = apiSentinel(1037, "Lead skipped")
	ErrFailedToCreateActivity = apiSentinel(1049, "Failed to create activity")
)

// HTTPError is an answer with an HTTP status other than 200: 401 from the
// identity endpoint, 413 (body over 1 MB), 414 (URI over 8 KB), 502 and other
// 5xx, or a redirect (the client never follows one, so that the token cannot
// leave for another host). Body is a redacted, truncated snippet.
type HTTPError struct {
	Status int
	Method string
	Path   string
	Body   string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("marketo: %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Is matches an *HTTPError with the same Status, and ErrTooLarge on 413.
func (e *HTTPError) Is(target error) bool {
	if target == ErrTooLarge {
		return e.Status == 413
	}
	t, ok := target.(*HTTPError)
	return ok && t.Status == e.Status
}

// Temporary reports whether the status is worth retrying (5xx, 429).
func (e *HTTPError) Temporary() bool { return e.Status >= 500 || e.Status == 429 }

// HTTP statuses the policy names, for errors.Is.
var (
	ErrUnauthorized    = &HTTPError{Status: 401} // bad client credentials (identity)
	ErrEntityTooLarge  = &HTTPError{Status: 413}
	ErrURITooLong      = &HTTPError{Status: 414}
	ErrBadGateway      = &HTTPError{Status: 502}
	ErrServiceUnavail  = &HTTPError{Status: 503}
	ErrGatewayTimedOut = &HTTPError{Status: 504}
)

// BadResponseError is an answer that cannot be understood: an HTML page, an
// empty or truncated body, a 200 that is not JSON, a body beyond the read
// limit, or results that do not match the input. It says nothing about what
// Marketo did with the request, so it is always worth retrying.
type BadResponseError struct {
	Status  int
	Reason  string
	Snippet string
}

func (e *BadResponseError) Error() string {
	s := fmt.Sprintf("marketo: bad response (HTTP %d): %s", e.Status, e.Reason)
	if e.Snippet != "" {
		s += ": " + strconv.Quote(e.Snippet)
	}
	return s
}

// Temporary is always true: a garbled answer is retried.
func (e *BadResponseError) Temporary() bool { return true }

// Size limits Marketo enforces; the client refuses to send beyond them.
const (
	MaxRecords   = 300     // records per Sync Leads / Push Lead call
	MaxBodyBytes = 1 << 20 // request body, HTTP 413 beyond
	MaxURIBytes  = 8000    // request URI, HTTP 414 beyond
)

// Sentinels matched by *SizeError (and ErrTooLarge by an HTTP 413).
var (
	ErrTooLarge       = errors.New("marketo: request body too large")
	ErrTooManyRecords = errors.New("marketo: too many records")
	// ErrInvalidRequest is wrapped by errors about a malformed LeadsRequest.
	ErrInvalidRequest = errors.New("marketo: invalid request")
)

// SizeError is a request refused before sending: more than MaxRecords
// records, or a body over MaxBodyBytes. The caller should split it.
type SizeError struct {
	Records int
	Bytes   int
	Limit   int
}

func (e *SizeError) Error() string {
	if e.Records > MaxRecords {
		return fmt.Sprintf("marketo: %d records, limit %d per call", e.Records, e.Limit)
	}
	return fmt.Sprintf("marketo: request body of %d bytes (%d records), limit %d", e.Bytes, e.Records, e.Limit)
}

// Is matches ErrTooManyRecords or ErrTooLarge, whichever limit was broken.
func (e *SizeError) Is(target error) bool {
	switch target {
	case ErrTooManyRecords:
		return e.Records > MaxRecords
	case ErrTooLarge:
		return e.Records <= MaxRecords
	}
	return false
}

// NetError is a call that did not complete: the connection failed or was
// dropped, or the per-call timeout or the caller's context ended it. It
// implements net.Error. Its message names the method and path, never the URL
// (whose query may carry credentials).
type NetError struct {
	Method string
	Path   string
	Err    error
}

var _ net.Error = (*NetError)(nil)

func (e *NetError) Error() string {
	return fmt.Sprintf("marketo: %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *NetError) Unwrap() error { return e.Err }

// Timeout reports whether the call ran out of time.
func (e *NetError) Timeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// Temporary is true unless the caller cancelled the call.
func (e *NetError) Temporary() bool { return !errors.Is(e.Err, context.Canceled) }

// IsTimeout reports whether err is a call that ran out of time (the per-call
// timeout, the caller's deadline, or a network timeout).
func IsTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// ConfigError names the Config field that New refused.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "marketo: config: " + e.Field + ": " + e.Reason }

// ErrTokenWait is returned when another replica holds the refresh lock and no
// token appeared in the TokenStore in time.
var ErrTokenWait = errors.New("marketo: timed out waiting for another replica to refresh the access token")
