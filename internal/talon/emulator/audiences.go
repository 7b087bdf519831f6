package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/talonsync/talonsync/internal/talon"
)

// audienceItem is a validated element of an audiences request.
type audienceItem struct {
	raw json.RawMessage
	a   talon.AudienceAction
}

// serveAudiences serves updateCustomerProfileAudiences.
func (s *Server) serveAudiences(w http.ResponseWriter, r *http.Request, body []byte) {
	elems, aerr := splitArray(body, "data")
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	s.stats.received.Add(int64(len(elems)))
	var (
		errs  []errEntry
		items = make([]audienceItem, 0, len(elems))
		seen  = make(map[string]int, len(elems))
	)
	for i, raw := range elems {
		ptr := itemPtr("data", i)
		it := audienceItem{raw: raw}
		_, e := decodeStrict(raw, ptr, &it.a, "action", "profileIntegrationId", "audienceId")
		if e == nil {
			e = s.checkAudienceAction(it.a, ptr)
		}
		if e == nil {
			key := talon.MembershipKey(it.a.AudienceID, it.a.ProfileIntegrationID)
			if j, dup := seen[key]; dup {
				e = []errEntry{ptrEntry("duplicate membership", fmt.Sprintf("audience %d and profile %q also appear at /data/%d; a request may name a membership once", it.a.AudienceID, it.a.ProfileIntegrationID, j), ptr)}
			} else {
				seen[key] = i
			}
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
		keys[i] = lockKey{scope: audienceScope, item: talon.MembershipKey(it.a.AudienceID, it.a.ProfileIntegrationID)}
	}
	s.run(w, r, job{items: len(items), keys: keys, apply: func() (int, []byte, *apiError) {
		return s.applyAudiences(items)
	}})
}

// checkAudienceAction checks one action; the wire enum is "add"/"delete",
// so "remove" is a 400.
func (s *Server) checkAudienceAction(a talon.AudienceAction, ptr string) []errEntry {
	var errs []errEntry
	if a.Action != talon.AudienceAdd && a.Action != talon.AudienceDelete {
		errs = append(errs, ptrEntry("invalid action", fmt.Sprintf("action must be %q or %q, got %q", talon.AudienceAdd, talon.AudienceDelete, a.Action), ptr+"/action"))
	}
	errs = append(errs, checkIntegrationID(a.ProfileIntegrationID, ptr+"/profileIntegrationId")...)
	if !s.audiences[a.AudienceID] {
		errs = append(errs, ptrEntry("unknown audience", "no audience with id "+strconv.FormatInt(a.AudienceID, 10), ptr+"/audienceId"))
	}
	return errs
}

// applyAudiences applies the actions: add creates the membership (and the
// profile, without attributes, when it does not exist); delete removes it
// and is a no-op for a non-member. Called with s.mu held.
func (s *Server) applyAudiences(items []audienceItem) (int, []byte, *apiError) {
	for _, it := range items {
		aid, pid := it.a.AudienceID, it.a.ProfileIntegrationID
		members := s.st.audiences[aid]
		if it.a.Action == talon.AudienceAdd {
			if members == nil {
				members = make(map[string]struct{})
				s.st.audiences[aid] = members
			}
			members[pid] = struct{}{}
			if s.st.profiles[pid] == nil {
				s.st.profiles[pid] = &Profile{IntegrationID: pid}
			}
		} else {
			delete(members, pid)
		}
		s.record(AudienceKey(aid, pid), it.raw)
	}
	return http.StatusNoContent, nil, nil
}
