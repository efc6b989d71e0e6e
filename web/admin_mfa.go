package web

import (
	"net/http"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/selfservice"
)

// mfaMethodRow is one authentication method on a user's page: its kind, its name and its
// last use.
type mfaMethodRow struct {
	Kind     portier.MethodKind
	Name     string
	LastUsed *time.Time
}

// mfaAdminView is the multi-factor part of a user's page (mfa_parts.html, admin_user_mfa).
type mfaAdminView struct {
	Methods []mfaMethodRow
	TAPs    []*portier.TAP
	// CanTAP: the viewer may create and revoke passes for this user (who may reset the
	// user's password); CanReRegister: the viewer may require re-registration.
	CanTAP, CanReRegister bool
}

// mfaAdmin fills the multi-factor part of the page of d's user for the viewer of r.
func (s *server) mfaAdmin(r *http.Request, d *userDetails) (*mfaAdminView, error) {
	actor := s.adminActor(r)
	v := &mfaAdminView{
		CanTAP:        portier.Can(actor.Roles, portier.ActionCreateTAP, d.Target.Roles),
		CanReRegister: portier.Can(actor.Roles, portier.ActionResetSecurityInfo, d.Target.Roles),
	}
	ms, err := s.Directory.Methods(r.Context(), actor, d.Target.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		name := m.Address
		if m.Kind == portier.MethodEmail {
			name = selfservice.MaskAddress(m.Address)
		}
		v.Methods = append(v.Methods, mfaMethodRow{Kind: m.Kind, Name: name, LastUsed: m.LastUsed})
	}
	ps, err := s.Passkeys.List(r.Context(), d.Target)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		v.Methods = append(v.Methods, mfaMethodRow{Kind: portier.MethodPasskey, Name: p.Name, LastUsed: p.LastUsed})
	}
	if v.CanTAP {
		if v.TAPs, err = s.Directory.TAPs(r.Context(), d.Target.ID); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// tapView is the page that shows a new Temporary Access Pass, once.
type tapView struct {
	UPN string
	TAP *portier.TAP
}

func (s *server) handleAdminCreateTAP() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upn := r.PathValue("upn")
		lifetime, err := time.ParseDuration(r.PostFormValue("lifetime"))
		if err != nil {
			lifetime = -1 // refused, and audited, by the directory service as out of range
		}
		tap, err := s.Directory.CreateTAP(r.Context(), s.adminActor(r), upn, lifetime, r.PostFormValue("one_time") == "on")
		if err != nil {
			s.fail(w, r, noSuchUser(err))
			return
		}
		p := s.adminPage(r, "admin.mfa.tap.title", "users")
		p.Data = &tapView{UPN: upn, TAP: tap}
		s.render(w, http.StatusOK, "admin_tap", p)
	})
}

func (s *server) handleAdminRevokeTAP() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upn := r.PathValue("upn")
		if err := s.Directory.RevokeTAPs(r.Context(), s.adminActor(r), upn); err != nil {
			s.fail(w, r, noSuchUser(err))
			return
		}
		backToUser(w, r, upn, "tap-revoked")
	})
}
