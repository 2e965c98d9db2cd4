package policy

// rule is one row of the decision table.
type rule struct {
	action  Action
	attempt bool   // the failed call counts toward maxAttempts
	title   string // Marketo's (or HTTP's) name for the code, as Marketo writes it
	meaning string // what it means, one line
	why     string // for park and skip: what the human has to do, or why nothing is
}

// Description is the row's one-line explanation for `repostctl policy`.
func (r rule) description() string {
	if r.meaning == "" {
		return r.title
	}
	return r.title + ": " + r.meaning
}

const (
	whyRequest = "a request or configuration fix"
	whyMapping = "a mapping or data fix"
)

// Constructors for the rows of CONTRACT §6, so each row below reads as the
// contract does.
func reauth(title, meaning string) rule {
	return rule{action: ActionReauth, title: title, meaning: meaning}
}

func halt(title, meaning string) rule {
	return rule{action: ActionHalt, title: title, meaning: meaning}
}

func throttle(title, meaning string) rule {
	return rule{action: ActionThrottle, title: title, meaning: meaning}
}

func retry(title, meaning string) rule {
	return rule{action: ActionRetry, attempt: true, title: title, meaning: meaning}
}

func park(why, title, meaning string) rule {
	return rule{action: ActionPark, attempt: true, title: title, meaning: meaning, why: why}
}

func skip(title, meaning string) rule {
	return rule{action: ActionSkip, attempt: true, title: title, meaning: meaning, why: "already done"}
}

// contractRules is CONTRACT §6, row by row. Every code of a row is listed.
// Codes the seed documents name but the contract does not are in
// otherCodes: they follow the contract's "anything else" row.
var contractRules = map[Code]rule{
	// 601, 602: reauth, not an attempt.
	"601": reauth("Access token invalid", "the access token in the call is not a valid token"),
	"602": reauth("Access token expired", "the access token in the call has expired"),

	// HTTP 401 from identity, 603: halt the subscription.
	"401": halt("Unauthorized", "the identity endpoint refused the client ID or client secret"),
	"603": halt("Access denied", "authenticated, but the API user lacks the permission (role or API IP allowlist)"),

	// 606, 607, 615: throttle, not an attempt.
	"606": throttle("Max rate limit '%s' exceeded with in '%s' secs", "more than 100 calls in the past 20 seconds"),
	"607": throttle("Daily quota reached", "the subscription's calls today exceeded its quota (resets at 00:00 Central time)"),
	"615": throttle("Concurrent access limit reached", "the subscription already has 10 requests in progress"),

	// 502, 604, 608, 611, 614, 713, 719, 1016, 1019, 1029, timeouts,
	// network errors, other 5xx: retry with backoff, then park.
	"502":       retry("Bad Gateway", "the remote server returned an error, probably a timeout; retry with exponential backoff"),
	"604":       retry("Request timed out", "the request ran too long (e.g. database contention) or exceeded the timeout in its header"),
	"608":       retry("API Temporarily Unavailable", "the API is temporarily unavailable"),
	"611":       retry("System error", "an unhandled exception on Marketo's side"),
	"614":       retry("Invalid Subscription", "the destination subscription cannot be found or reached, usually for a short time"),
	"713":       retry("Transient Error", "a system resource was temporarily unavailable; wait and retry"),
	"719":       retry("Lock wait timeout exception", "the call timed out waiting for a lock"),
	"1016":      retry("Too many imports", "more than 10 imports are queued"),
	"1019":      retry("Import in progress", "the target list is already being imported into"),
	"1029":      retry("Too many jobs in queue", "or the export daily quota is exceeded, or the job is already queued"),
	"500":       retry("Internal Server Error", "HTTP 500 from Marketo"),
	"503":       retry("Service Unavailable", "HTTP 503 from Marketo"),
	"504":       retry("Gateway Timeout", "HTTP 504 from Marketo"),
	CodeTimeout: retry("Timeout", "the call timed out, or DAP's envelope says handleTimeout: true"),
	CodeNetwork: retry("Network error", "the call failed below HTTP (connection refused or reset, DNS, TLS)"),

	// HTTP 413, 1036: split the call and retry the parts.
	"413":  {action: ActionSplit, attempt: true, title: "Request Entity Too Large", meaning: "the request body exceeded 1 MB"},
	"1036": {action: ActionSplit, attempt: true, title: "Duplicate object found in input", meaning: "two or more records of the call share the same key"},

	// HTTP 414: resend as POST with _method=GET.
	"414": {action: ActionResend, attempt: true, title: "Request-URI Too Long", meaning: "the request URI exceeded 8 KB"},

	// 605, 609, 610, 612, 613, 616: park (request or configuration defect).
	"605": park(whyRequest, "HTTP Method not supported", "the endpoint does not take this method (Sync Leads needs POST)"),
	"609": park(whyRequest, "Invalid JSON", "the request body is not valid JSON"),
	"610": park(whyRequest, "Requested resource not found", "the URI matches no REST resource (misspelled or malformed)"),
	"612": park(whyRequest, "Invalid Content Type", "the request needs the header Content-Type: application/json"),
	"613": park(whyRequest, "Invalid Multipart Request", "the multipart content of the POST is malformed"),
	"616": park(whyRequest, "Invalid subscription type", "the subscription's type does not allow this API"),

	// 701, 704, 709, 1001–1004, 1006–1011, 1013, 1025, 1049: park (mapping or data fix).
	"701":  park(whyMapping, "%s cannot be blank", "the reported field must not be empty"),
	"704":  park(whyMapping, "Invalid date format", "a date is not in the right format (or a dynamic content ID is invalid)"),
	"709":  park(whyMapping, "Business rule violation", "the call breaks a requirement for creating or updating the record"),
	"1001": park(whyMapping, "Invalid value '%s'. Required of type '%s'", "a value does not have the parameter's type"),
	"1002": park(whyMapping, "Missing value for required parameter '%s'", "a required parameter is missing from the request"),
	"1003": park(whyMapping, "Invalid data", "the data is not valid for the endpoint or mode (e.g. an id with createOnly)"),
	"1004": park(whyMapping, "Lead not found", "the action is updateOnly and no lead matches the key"),
	"1006": park(whyMapping, "Field '%s' not found", "a field in the call is not a valid field"),
	"1007": park(whyMapping, "Multiple lead match the lookup criteria", "an update needs a key that matches a single record"),
	"1008": park(whyMapping, "Access denied to partition '%s'", "the API user has no workspace holding the record's partition"),
	"1009": park(whyMapping, "Partition name must be specified", "the call needs a partitionName"),
	"1010": park(whyMapping, "Partition update not allowed", "the record already exists in another lead partition"),
	"1011": park(whyMapping, "Field '%s' not supported", "the lookup field or filterType is an unsupported standard field"),
	"1013": park(whyMapping, "Object not found", "the object (list, campaign, program) named by id does not exist"),
	"1025": park(whyMapping, "Program status not found", "the status matches no status of the program's channel"),
	"1049": park(whyMapping, "Failed to create activity", "the attributes array exceeds 65536 bytes"),

	// 1005, 1037: skip (already done).
	"1005": skip("Lead already exists", "the action is createOnly and a lead already exists"),
	"1037": skip("Lead was skipped", "the lead already has this program status or a later one"),

	// Named codes the worker produces itself.
	CodeInvalid:             {action: ActionPark, title: "Invalid event", meaning: "the event breaks the input contract and cannot be reposted as is", why: "a fix of the event"},
	CodeUnknownSubscription: {action: ActionPark, title: "Unknown subscription", meaning: "the event's subscription is not in the configuration", why: "a configuration fix"},
	CodeTooLarge:            {action: ActionPark, title: "Lead too large", meaning: "a single lead is over Marketo's 1 MB body limit", why: whyMapping},
	CodeRetriesExhausted:    {action: ActionPark, title: "Retries exhausted", meaning: "a transient failure outlasted maxAttempts", why: "a human to look"},
	CodeExpired:             {action: ActionPark, title: "Expired", meaning: "the event was about to age out of POSTOUT_FAILED while its subscription was halted, paused or blocked", why: "a human to replay it once the subscription works"},
	CodeSuperseded:          {action: ActionSkip, title: "Superseded", meaning: "a later post-out of the lead succeeded", why: "a later post-out succeeded"},
}

// otherCodes are the codes the seed documents name that no row of the
// contract lists. They follow its "anything else" row (retry as transient,
// then park) on purpose: the contract is the product's outside, and a
// config override can change any of them. They are kept here so that
// `repostctl policy` can explain every code a post-out log can show.
var otherCodes = map[Code]rule{
	"702":  {title: "No data found for a given search scenario", meaning: "no record matches the search parameters"},
	"703":  {title: "The feature is not enabled for the subscription", meaning: "a beta feature is not enabled for the subscription"},
	"710":  {title: "Parent Folder Not Found", meaning: "the parent folder given cannot be found"},
	"711":  {title: "Incompatible Folder Type", meaning: "the folder's type does not suit the request"},
	"712":  {title: "Merge operation invalid to person account", meaning: "Salesforce person accounts must be merged in Salesforce"},
	"714":  {title: "Unable to find the default record type", meaning: "a merge leads call found no default record type"},
	"718":  {title: "ExternalSalesPersonID not found", meaning: "a sync opportunities call named a sales person that does not exist"},
	"1012": {title: "Invalid cookie value '%s'", meaning: "Associate Lead or the cookies filter got an invalid cookie"},
	"1014": {title: "Failed to create Object", meaning: "creating the object (list) failed"},
	"1015": {title: "Lead not in list", meaning: "the lead is not a member of the target list"},
	"1017": {title: "Object already exists", meaning: "creation failed because the record already exists"},
	"1018": {title: "CRM Enabled", meaning: "the instance has a native CRM integration enabled"},
	"1020": {title: "Too many clones to program", meaning: "the day's allowance of cloneToProgramName is used up"},
	"1021": {title: "Company update not allowed", meaning: "companies cannot be updated by syncLead"},
	"1022": {title: "Object in use", meaning: "the object cannot be deleted while another object uses it"},
	"1026": {title: "Custom Object not enabled", meaning: "the custom objects integration is not enabled for the instance"},
	"1027": {title: "Max activity type limit reached", meaning: "the subscription has all the custom activity types it may have"},
	"1028": {title: "Max field limit reached", meaning: "custom activities have at most 20 secondary attributes"},
	"1035": {title: "Unsupported filter type", meaning: "the subscription does not support this bulk extract filter"},
	"1042": {title: "Invalid runAt date", meaning: "a campaign's runAt is more than 2 years ahead"},
	"1048": {title: "Custom object discard draft failed", meaning: "discarding a custom object's draft failed"},
	"1076": {title: "Merge Leads call with mergeInCRM flag is 4", meaning: "the merge would create a duplicate record in the CRM"},
	"1077": {title: "Merge Leads call failed due to 'SFDC Field' length", meaning: "an SFDC field is over its length limit"},
	"1078": {title: "Merge Leads call failed", meaning: "a deleted entity, or lead/contact or field filter mismatch in the synced CRM"},
	"1079": {title: "Merge Leads call failed due to a duplicate custom URL", meaning: "the leads share a custom URL; merge them in Marketo Engage"},
}

// defaultRule is the contract's "anything else" row.
func defaultRule(c Code) rule {
	r := rule{action: ActionRetry, attempt: true, title: "Unlisted code",
		meaning: "not in Marketo's documented codes: treated as transient"}
	if isServerError(c) {
		r.title, r.meaning = "Server error", "HTTP 5xx from Marketo"
	}
	return r
}

// baseRule returns the default rule for c and whether c has a row of its
// own in the contract.
func baseRule(c Code) (r rule, listed bool) {
	if r, ok := contractRules[c]; ok {
		return r, true
	}
	r = defaultRule(c)
	if o, ok := otherCodes[c]; ok {
		r.title, r.meaning = o.title, o.meaning
	}
	return r, isServerError(c)
}

// isServerError reports an HTTP 5xx: the contract lists "other 5xx" in the
// retry row, so they are listed even without a row of their own.
func isServerError(c Code) bool {
	n, ok := c.Number()
	return ok && n >= 500 && n <= 599
}
