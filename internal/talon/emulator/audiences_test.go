package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAudiencesValidation(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{name: "missing data", body: `{"actions":[]}`, want: []string{"/actions"}},
		{name: "empty data", body: dataBody(), want: []string{"/data"}},
		{name: "1001 actions", body: dataBody(repeat(1001, func(i int) string { return member("add", 1, fmt.Sprint(i)) })...), want: []string{"/data"}},
		{name: "remove is not on the wire", body: dataBody(member("add", 1, "a"), member("remove", 1, "b")), want: []string{"/data/1/action"}},
		{name: "action in upper case", body: dataBody(member("ADD", 1, "a")), want: []string{"/data/0/action"}},
		{name: "missing action", body: dataBody(`{"audienceId":1,"profileIntegrationId":"a"}`), want: []string{"/data/0/action"}},
		{name: "unknown audience", body: dataBody(member("add", 1, "a"), member("add", 4, "a")), want: []string{"/data/1/audienceId"}},
		{name: "missing audienceId", body: dataBody(`{"action":"add","profileIntegrationId":"a"}`), want: []string{"/data/0/audienceId"}},
		{name: "audienceId a string", body: dataBody(`{"action":"add","audienceId":"1","profileIntegrationId":"a"}`), want: []string{"/data/0/audienceId"}},
		{name: "missing profileIntegrationId", body: dataBody(`{"action":"delete","audienceId":1}`), want: []string{"/data/0/profileIntegrationId"}},
		{name: "profileIntegrationId too long", body: dataBody(member("add", 1, strings.Repeat("x", 1001))), want: []string{"/data/0/profileIntegrationId"}},
		{name: "unknown field", body: dataBody(`{"action":"add","audienceId":1,"profileIntegrationId":"a","audienceIntegrationId":"x"}`), want: []string{"/data/0/audienceIntegrationId"}},
		{name: "duplicate pair points at the later one", body: dataBody(member("add", 1, "a"), member("add", 2, "a"), member("delete", 1, "a")), want: []string{"/data/2"}},
		{name: "every offending item", body: dataBody(member("remove", 1, "a"), member("add", 1, "b"), member("add", 9, "c")), want: []string{"/data/0/action", "/data/2/audienceId"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{})
			a := do(t, s, http.MethodPost, audiencesPath, tc.body)
			require.Equal(t, http.StatusBadRequest, a.status, "body %s", a.body)
			assert.Equal(t, tc.want, pointers(t, a))
			st := s.State()
			assert.Empty(t, st.Profiles)
			for id, members := range st.Audiences {
				assert.Empty(t, members, "audience %d", id)
			}
		})
	}
}

func TestAudiencesSemantics(t *testing.T) {
	s := start(t, Options{})
	a := do(t, s, http.MethodPut, profilesPath, profilesBody(`{"integrationId":"bob","attributes":{"Age":30}}`))
	require.Equal(t, http.StatusNoContent, a.status)

	steps := []string{
		dataBody(member("add", 1, "zed"), member("add", 1, "bob"), member("add", 2, "amy"), member("delete", 3, "nobody")),
		dataBody(member("add", 1, "bob"), member("delete", 2, "amy"), member("add", 3, "amy")),
	}
	for _, body := range steps {
		a := do(t, s, http.MethodPost, audiencesPath, body)
		require.Equal(t, http.StatusNoContent, a.status, "body %s", a.body)
		assert.Empty(t, a.body)
	}
	st := s.State()
	assert.Equal(t, map[int64][]string{1: {"bob", "zed"}, 2: {}, 3: {"amy"}}, st.Audiences, "members are sorted")
	assert.Equal(t, map[string]Profile{
		"bob": {IntegrationID: "bob", Attributes: map[string]json.RawMessage{"Age": json.RawMessage(`30`)}},
		"zed": {IntegrationID: "zed"},
		"amy": {IntegrationID: "amy"},
	}, st.Profiles, "add creates missing profiles without attributes and keeps existing ones")
}
