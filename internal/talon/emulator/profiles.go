package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/talonsync/talonsync/internal/talon"
)

// profileItem is a validated element of a profiles request.
type profileItem struct {
	raw json.RawMessage
	p   talon.CustomerProfile
}

// serveProfiles serves updateCustomerProfilesV2.
//
// A request whose Idempotency-Key was seen on an applied request gets that
// request's answer again, without validation and without being applied.
// The body is not compared with the first one's. Only applied requests are
// remembered, so a request answered 400, 409, 429 or 5xx can be retried
// with the same key.
func (s *Server) serveProfiles(w http.ResponseWriter, r *http.Request, body []byte, silent bool) {
	idemKey := r.Header.Get("Idempotency-Key")
	if len(idemKey) > maxIdempotencyKeyLen {
		s.fail(w, r, newError(http.StatusBadRequest, "invalid header",
			entry("invalid value", fmt.Sprintf("Idempotency-Key must be at most %d characters", maxIdempotencyKeyLen), source{Parameter: "Idempotency-Key"})))
		return
	}
	if idemKey != "" {
		if a, ok := s.idem.get(idemKey); ok {
			if !sleep(r.Context(), s.faults.delay()) {
				s.stats.record(statusClientGone)
				return
			}
			s.stats.replays.Add(1)
			s.write(w, a.status, a.body)
			return
		}
	}
	elems, aerr := splitArray(body, "customerProfiles")
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	s.stats.received.Add(int64(len(elems)))
	var (
		errs  []errEntry
		items = make([]profileItem, 0, len(elems))
		seen  = make(map[string]int, len(elems))
	)
	for i, raw := range elems {
		ptr := itemPtr("customerProfiles", i)
		it := profileItem{raw: raw}
		_, e := decodeStrict(raw, ptr, &it.p, "integrationId", "attributes")
		if e == nil {
			e = checkIntegrationID(it.p.IntegrationID, ptr+"/integrationId")
		}
		if e == nil {
			if j, dup := seen[it.p.IntegrationID]; dup {
				e = []errEntry{ptrEntry("duplicate integration ID", fmt.Sprintf("integrationId %q also appears at /customerProfiles/%d; a request may name a profile once", it.p.IntegrationID, j), ptr+"/integrationId")}
			} else {
				seen[it.p.IntegrationID] = i
			}
		}
		if e == nil {
			e = s.currentSchema().checkAttrs(SchemaProfiles, it.p.Attributes, ptr+"/attributes")
			compactAttrs(it.p.Attributes)
		}
		if e != nil {
			errs = append(errs, e...)
			continue
		}
		items = append(items, it)
	}
	if len(errs) > 0 {
		s.fail(w, r, badRequest(errs))
		return
	}
	keys := make([]lockKey, len(items))
	for i, it := range items {
		keys[i] = lockKey{scope: profileScope, item: it.p.IntegrationID}
	}
	s.run(w, r, job{items: len(items), keys: keys, idemKey: idemKey, apply: func() (int, []byte, *apiError) {
		return s.applyProfiles(items, silent)
	}})
}

// integrationStates is the 200 answer of updateCustomerProfilesV2 with silent=no.
type integrationStates struct {
	IntegrationStates []integrationState `json:"integrationStates"`
}

type integrationState struct {
	CustomerProfile Profile `json:"customerProfile"`
}

// applyProfiles upserts the profiles: given attributes are set, the others
// kept. Called with s.mu held.
func (s *Server) applyProfiles(items []profileItem, silent bool) (int, []byte, *apiError) {
	var out integrationStates
	for _, it := range items {
		id := it.p.IntegrationID
		p := s.st.profiles[id]
		if p == nil {
			p = &Profile{IntegrationID: id}
			s.st.profiles[id] = p
		}
		p.Attributes = mergeAttrs(p.Attributes, it.p.Attributes)
		s.record(ProfileKey(id), it.raw)
		if !silent {
			out.IntegrationStates = append(out.IntegrationStates, integrationState{
				CustomerProfile: Profile{IntegrationID: id, Attributes: copyAttrs(p.Attributes)},
			})
		}
	}
	if silent {
		return http.StatusNoContent, nil, nil
	}
	body, _ := json.Marshal(out)
	return http.StatusOK, body, nil
}
