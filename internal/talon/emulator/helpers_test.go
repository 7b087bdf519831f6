package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// start starts an emulator on loopback and closes it when the test ends.
func start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// answer is an HTTP answer read in full.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// errorBody is the documented error shape.
type errorBody struct {
	Message string `json:"message"`
	Errors  []struct {
		Title   string `json:"title"`
		Details string `json:"details"`
		Source  *struct {
			Pointer   string `json:"pointer"`
			Parameter string `json:"parameter"`
		} `json:"source"`
	} `json:"errors"`
	StatusCode int `json:"StatusCode"`
}

// send sends a request with the default API key; headers are name, value
// pairs and override the default Authorization ("" removes it).
func send(t testing.TB, client *http.Client, url, method, path, body string, headers ...string) (answer, error) {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "ApiKey-v1 "+DefaultAPIKey)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// do is send with the default client, failing the test on transport errors.
func do(t testing.TB, s *Server, method, path, body string, headers ...string) answer {
	t.Helper()
	a, err := send(t, http.DefaultClient, s.URL(), method, path, body, headers...)
	require.NoError(t, err)
	return a
}

// decodeError decodes an error answer and checks its shape.
func decodeError(t testing.TB, a answer) errorBody {
	t.Helper()
	var e errorBody
	require.NoError(t, json.Unmarshal(a.body, &e), "body %s", a.body)
	require.NotEmpty(t, e.Message)
	require.NotNil(t, e.Errors, "errors must be present: %s", a.body)
	return e
}

// pointers lists the source pointers of an error answer, in order.
func pointers(t testing.TB, a answer) []string {
	t.Helper()
	var ps []string
	for _, e := range decodeError(t, a).Errors {
		if e.Source != nil && e.Source.Pointer != "" {
			ps = append(ps, e.Source.Pointer)
		}
	}
	return ps
}

// profilesBody builds a profiles request body from elements.
func profilesBody(elems ...string) string {
	return `{"customerProfiles":[` + strings.Join(elems, ",") + `]}`
}

func actionsBody(elems ...string) string {
	return `{"actions":[` + strings.Join(elems, ",") + `]}`
}

func dataBody(elems ...string) string {
	return `{"data":[` + strings.Join(elems, ",") + `]}`
}

// repeat returns n elements built by f(i).
func repeat(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func profile(id string) string { return fmt.Sprintf(`{"integrationId":%q}`, id) }

func member(action string, audience int, id string) string {
	return fmt.Sprintf(`{"action":%q,"audienceId":%d,"profileIntegrationId":%q}`, action, audience, id)
}

const (
	profilesPath  = "/v2/customer_profiles"
	audiencesPath = "/v2/customer_audiences"
	catalog1Path  = "/v1/catalogs/1/sync"
)

const schemaPath = "testdata/schema.json"
