package marketo

import (
	"context"
	"errors"
	"net/url"
)

// DoGet makes a GET call under /rest/. A request URI over MaxURIBytes is
// sent as POST with _method=GET and the query as a form body, as Marketo
// asks; so is a GET that Marketo answers with HTTP 414. The raw result array
// is in Response.Result. Errors are those of Post.
func (c *Client) DoGet(ctx context.Context, path string, query url.Values) (*Response, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	q := query.Encode()
	ex := exchange{method: "GET", path: path, query: q, timeout: c.cfg.Timeout}
	if len(path)+1+len(q) > MaxURIBytes {
		ex = getAsPost(ex)
	}
	parse := func(status int, b []byte) (*Response, error) { return parseRaw(status, b, ex, c.redactor) }
	resp, err := c.authorized(ctx, ex, parse)
	if ex.method == "GET" && errors.Is(err, ErrURITooLong) {
		ex = getAsPost(ex) // parse sees the new method in errors
		return c.authorized(ctx, ex, parse)
	}
	return resp, err
}

// getAsPost turns a GET into the POST Marketo accepts in its place.
func getAsPost(ex exchange) exchange {
	ex.method = "POST"
	ex.body = []byte(ex.query)
	ex.query = "_method=GET"
	ex.contentType = "application/x-www-form-urlencoded"
	return ex
}

// Describe calls Describe Lead (GET /rest/v1/leads/describe.json): the lead
// fields of the instance. It costs one call of the quota and changes
// nothing, which makes it the probe used to check a subscription's
// credentials and reachability.
func (c *Client) Describe(ctx context.Context) (*Response, error) {
	return c.DoGet(ctx, DescribePath, nil)
}

// String names the client for logs, without credentials.
func (c *Client) String() string {
	return "marketo client " + c.cfg.Subscription + " " + c.base
}
