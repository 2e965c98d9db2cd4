package marketotest

import (
	"fmt"
	"time"
)

// FieldType is the type of a lead field in the simulated schema.
type FieldType string

// Field types Marketo's lead database knows, as far as the simulator checks them.
const (
	FieldString   FieldType = "string"
	FieldEmail    FieldType = "email"
	FieldInteger  FieldType = "integer"
	FieldFloat    FieldType = "float"
	FieldBoolean  FieldType = "boolean"
	FieldDate     FieldType = "date"     // 2006-01-02
	FieldDateTime FieldType = "datetime" // RFC 3339
)

// Defaults of Options and Limits, Marketo's own values.
const (
	DefaultClientID       = "sim-client"
	DefaultClientSecret   = "sim-secret"
	DefaultTokenTTL       = 3600 * time.Second
	DefaultCallsPerWindow = 100
	DefaultWindow         = 20 * time.Second
	DefaultMaxConcurrency = 10
	DefaultDailyQuota     = 50000
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxBatch       = 300
	DefaultMaxURIBytes    = 8 << 10
	DefaultCallLogSize    = 100000
	DefaultProgram        = "MarketoTestProgram1"
	DefaultPartition      = "Default"
	quotaZone             = "America/Chicago"
)

// Limits are the subscription's limits. A zero field takes its default.
type Limits struct {
	CallsPerWindow int           // calls per sliding Window (606)
	Window         time.Duration // length of the sliding window
	MaxConcurrency int           // calls in flight at once (615)
	DailyQuota     int           // calls per day, reset at 00:00 America/Chicago (607)
	MaxBodyBytes   int64         // request body size (HTTP 413 above it)
	MaxBatch       int           // records per call (1003 above it)
	MaxURIBytes    int           // request URI length (HTTP 414 above it)
}

// DefaultLimits returns Marketo's default limits.
func DefaultLimits() Limits {
	return Limits{
		CallsPerWindow: DefaultCallsPerWindow, Window: DefaultWindow,
		MaxConcurrency: DefaultMaxConcurrency, DailyQuota: DefaultDailyQuota,
		MaxBodyBytes: DefaultMaxBodyBytes, MaxBatch: DefaultMaxBatch, MaxURIBytes: DefaultMaxURIBytes,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.CallsPerWindow == 0 {
		l.CallsPerWindow = d.CallsPerWindow
	}
	if l.Window == 0 {
		l.Window = d.Window
	}
	if l.MaxConcurrency == 0 {
		l.MaxConcurrency = d.MaxConcurrency
	}
	if l.DailyQuota == 0 {
		l.DailyQuota = d.DailyQuota
	}
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.MaxBatch == 0 {
		l.MaxBatch = d.MaxBatch
	}
	if l.MaxURIBytes == 0 {
		l.MaxURIBytes = d.MaxURIBytes
	}
	return l
}

// Options configure a Sim. The zero value is a Marketo with default limits,
// the default schema and one program (DefaultProgram).
type Options struct {
	ClientID     string        // default DefaultClientID
	ClientSecret string        // default DefaultClientSecret
	TokenTTL     time.Duration // lifetime of an access token, default 1 h
	Scope        string        // "scope" of identity answers

	Limits        Limits // zero fields take Marketo's defaults
	DisableLimits bool   // no 606, 607 or 615 (body, URI and batch sizes still apply)

	// AllowQueryToken accepts a token sent as the access_token query
	// parameter (Marketo still does). By default it is refused with 601.
	AllowQueryToken bool

	Schema       map[string]FieldType // default DefaultSchema()
	LookupFields []string             // fields usable as lookupField, default email, id and the CRM ids
	Programs     map[string][]string  // program → channel statuses in order, default DefaultPrograms()
	Partitions   []string             // lead partitions, default ["Default"]

	Faults           Faults        // injected faults, changeable with SetFaults
	Latency          time.Duration // added to every admitted REST call
	LatencyPerRecord time.Duration // added per input record

	Now         func() time.Time // clock for tokens, limits and lead timestamps, default time.Now
	CallLogSize int              // calls kept by CallLog, default DefaultCallLogSize
	// AnsweredLogSize is how many answered records AnsweredLog keeps (the
	// most recent); 0 keeps none.
	AnsweredLogSize int
}

// DefaultSchema returns the lead fields the simulator knows by default. "role"
// is deliberately missing: it is the field of the seed's 1006 example.
func DefaultSchema() map[string]FieldType {
	return map[string]FieldType{
		"email": FieldEmail, "firstName": FieldString, "lastName": FieldString,
		"middleName": FieldString, "salutation": FieldString,
		"company": FieldString, "title": FieldString, "jobTitle": FieldString,
		"phone": FieldString, "mobilePhone": FieldString, "fax": FieldString,
		"address": FieldString, "city": FieldString, "state": FieldString,
		"postalCode": FieldString, "country": FieldString, "website": FieldString,
		"industry": FieldString, "leadSource": FieldString, "leadStatus": FieldString,
		"numberOfEmployees": FieldInteger, "annualRevenue": FieldFloat,
		"unsubscribed": FieldBoolean, "doNotCall": FieldBoolean,
		"birthDate": FieldDate, "leadScore": FieldInteger,
		"sfdcLeadId": FieldString, "sfdcContactId": FieldString,
		"externalCompanyId": FieldString, "lastActivityDate": FieldDateTime,
	}
}

// DefaultPrograms returns the programs the simulator knows by default: the
// seed's MarketoTestProgram1 with a channel of four statuses.
func DefaultPrograms() map[string][]string {
	return map[string][]string{
		DefaultProgram: {"Member", "Registered", "Attended", "Engaged"},
	}
}

var defaultLookupFields = []string{"email", "id", "sfdcLeadId", "sfdcContactId"}

// Validate reports an option that cannot work, naming it.
func (o Options) Validate() error {
	if o.TokenTTL < 0 {
		return fmt.Errorf("marketotest: TokenTTL %v is negative", o.TokenTTL)
	}
	l := o.Limits
	if l.CallsPerWindow < 0 || l.Window < 0 || l.MaxConcurrency < 0 || l.DailyQuota < 0 ||
		l.MaxBodyBytes < 0 || l.MaxBatch < 0 || l.MaxURIBytes < 0 {
		return fmt.Errorf("marketotest: Limits %+v has a negative value", l)
	}
	for name, t := range o.Schema {
		if !validFieldType(t) {
			return fmt.Errorf("marketotest: Schema[%q]: unknown type %q", name, t)
		}
	}
	for name, st := range o.Programs {
		if len(st) == 0 {
			return fmt.Errorf("marketotest: Programs[%q] has no status", name)
		}
	}
	if o.AnsweredLogSize < 0 {
		return fmt.Errorf("marketotest: AnsweredLogSize %d is negative", o.AnsweredLogSize)
	}
	if o.Latency < 0 || o.LatencyPerRecord < 0 {
		return fmt.Errorf("marketotest: latency is negative")
	}
	return o.Faults.Validate()
}

func validFieldType(t FieldType) bool {
	switch t {
	case FieldString, FieldEmail, FieldInteger, FieldFloat, FieldBoolean, FieldDate, FieldDateTime:
		return true
	}
	return false
}

func (o Options) withDefaults() Options {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.Scope == "" {
		o.Scope = "apiuser@sim.marketo.test"
	}
	o.Limits = o.Limits.withDefaults()
	if o.Schema == nil {
		o.Schema = DefaultSchema()
	}
	if o.LookupFields == nil {
		o.LookupFields = defaultLookupFields
	}
	if o.Programs == nil {
		o.Programs = DefaultPrograms()
	}
	if len(o.Partitions) == 0 {
		o.Partitions = []string{DefaultPartition}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CallLogSize == 0 {
		o.CallLogSize = DefaultCallLogSize
	}
	return o
}
