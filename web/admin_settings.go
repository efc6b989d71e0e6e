package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portier-id/portier"
)

// settingsForm is the settings page: every value as the form shows it, durations written
// the way Go reads them (60s, 15m, 12h) so that no value is rounded by the page.
type settingsForm struct {
	OrgName, DefaultLanguage                                    string
	LockoutThreshold, LockoutDuration, LockoutMax, LockoutDecay string
	SourceThreshold, SourceWindow                               string
	PasswordMinLength                                           string
	SessionIdle, SessionAbsolute, AdminSessionIdle              string
	ResetScope, ResetRequired                                   string
	ResetEmail, ResetTOTP, ResetUnlock, ResetRegister           bool
	NotifyUser, NotifyAdmins, LockoutEmail                      bool
	// Multi-factor sign-in (mfa_parts.html); MFAShown is set when the form carried it.
	MFAShown            bool
	MFARequired         string
	MFATOTP, MFAPasskey bool
	MFARememberDays     string
}

// shortDuration writes d without the zero units Go adds (1h0m0s becomes 1h).
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func settingsFormOf(st portier.Settings) *settingsForm {
	return &settingsForm{
		OrgName: st.OrgName, DefaultLanguage: st.DefaultLanguage,
		LockoutThreshold: strconv.Itoa(st.Lockout.Threshold), LockoutDuration: shortDuration(st.Lockout.Duration),
		LockoutMax: shortDuration(st.Lockout.MaxDuration), LockoutDecay: shortDuration(st.Lockout.Decay),
		SourceThreshold: strconv.Itoa(st.SourceThreshold), SourceWindow: shortDuration(st.SourceWindow),
		PasswordMinLength: strconv.Itoa(st.PasswordMinLength),
		SessionIdle:       shortDuration(st.SessionIdle), SessionAbsolute: shortDuration(st.SessionAbsolute),
		AdminSessionIdle: shortDuration(st.AdminSessionIdle),
		ResetScope:       st.Reset.Scope, ResetRequired: strconv.Itoa(st.Reset.MethodsRequired),
		ResetEmail: st.Reset.Allows(portier.MethodEmail), ResetTOTP: st.Reset.Allows(portier.MethodTOTP),
		ResetUnlock: st.Reset.AllowUnlock, ResetRegister: st.Reset.RequireRegistration,
		NotifyUser: st.Reset.NotifyUser, NotifyAdmins: st.Reset.NotifyAdmins, LockoutEmail: st.LockoutEmail,
		MFAShown: true, MFARequired: st.MFA.Required, MFATOTP: st.MFA.Allows(portier.MethodTOTP),
		MFAPasskey: st.MFA.Allows(portier.MethodPasskey), MFARememberDays: strconv.Itoa(st.MFA.RememberDays),
	}
}

func settingsFormFrom(r *http.Request) *settingsForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return &settingsForm{
		OrgName: v("org_name"), DefaultLanguage: v("default_language"),
		LockoutThreshold: v("lockout_threshold"), LockoutDuration: v("lockout_duration"), LockoutMax: v("lockout_max_duration"),
		LockoutDecay: v("lockout_decay"), SourceThreshold: v("source_threshold"), SourceWindow: v("source_window"),
		PasswordMinLength: v("password_min_length"), SessionIdle: v("session_idle"), SessionAbsolute: v("session_absolute"),
		AdminSessionIdle: v("admin_session_idle"),
		ResetScope:       v("sspr_scope"), ResetRequired: v("sspr_methods_required"),
		ResetEmail: v("sspr_email") == "on", ResetTOTP: v("sspr_totp") == "on", ResetUnlock: v("sspr_allow_unlock") == "on",
		ResetRegister: v("sspr_require_registration") == "on", NotifyUser: v("sspr_notify_user") == "on",
		NotifyAdmins: v("sspr_notify_admins") == "on", LockoutEmail: v("lockout_email") == "on",
		MFAShown: r.PostForm.Has("mfa_required"), MFARequired: v("mfa_required"),
		MFATOTP: v("mfa_totp") == "on", MFAPasskey: v("mfa_passkey") == "on", MFARememberDays: v("mfa_remember_days"),
	}
}

// apply writes the form's values into st, or returns an EInvalid error naming the field
// that cannot be read; the ranges are Settings.Validate's to check.
func (f *settingsForm) apply(t *translator, st *portier.Settings) error {
	num := func(label, v string, dst *int) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return portier.Errorf(portier.EInvalid, "%s", t.T("admin.settings.badnumber", "Field", t.T(label)))
		}
		*dst = n
		return nil
	}
	dur := func(label, v string, dst *time.Duration) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return portier.Errorf(portier.EInvalid, "%s", t.T("admin.settings.badduration", "Field", t.T(label)))
		}
		*dst = d
		return nil
	}
	name, err := portier.ValidateDisplayName(f.OrgName)
	if err != nil {
		return portier.Errorf(portier.EInvalid, "%s", t.T("admin.settings.badorg"))
	}
	st.OrgName, st.DefaultLanguage = name, f.DefaultLanguage
	st.Reset.Scope, st.Reset.Methods = f.ResetScope, nil
	if f.ResetEmail {
		st.Reset.Methods = append(st.Reset.Methods, portier.MethodEmail)
	}
	if f.ResetTOTP {
		st.Reset.Methods = append(st.Reset.Methods, portier.MethodTOTP)
	}
	st.Reset.AllowUnlock, st.Reset.RequireRegistration = f.ResetUnlock, f.ResetRegister
	st.Reset.NotifyUser, st.Reset.NotifyAdmins, st.LockoutEmail = f.NotifyUser, f.NotifyAdmins, f.LockoutEmail
	for _, step := range []func() error{
		func() error { return num("admin.settings.threshold", f.LockoutThreshold, &st.Lockout.Threshold) },
		func() error { return dur("admin.settings.duration", f.LockoutDuration, &st.Lockout.Duration) },
		func() error { return dur("admin.settings.maxduration", f.LockoutMax, &st.Lockout.MaxDuration) },
		func() error { return dur("admin.settings.decay", f.LockoutDecay, &st.Lockout.Decay) },
		func() error { return num("admin.settings.sourcethreshold", f.SourceThreshold, &st.SourceThreshold) },
		func() error { return dur("admin.settings.sourcewindow", f.SourceWindow, &st.SourceWindow) },
		func() error { return num("admin.settings.minlength", f.PasswordMinLength, &st.PasswordMinLength) },
		func() error { return dur("admin.settings.sessionidle", f.SessionIdle, &st.SessionIdle) },
		func() error { return dur("admin.settings.sessionabsolute", f.SessionAbsolute, &st.SessionAbsolute) },
		func() error { return dur("admin.settings.adminidle", f.AdminSessionIdle, &st.AdminSessionIdle) },
		func() error { return num("admin.settings.sspr.required", f.ResetRequired, &st.Reset.MethodsRequired) },
		func() error {
			// A form without the multi-factor fields (a script posting the older form) keeps them.
			if !f.MFAShown {
				return nil
			}
			st.MFA.Required, st.MFA.Methods = f.MFARequired, nil
			if f.MFATOTP {
				st.MFA.Methods = append(st.MFA.Methods, portier.MethodTOTP)
			}
			if f.MFAPasskey {
				st.MFA.Methods = append(st.MFA.Methods, portier.MethodPasskey)
			}
			return num("admin.settings.mfa.remember", f.MFARememberDays, &st.MFA.RememberDays)
		},
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (s *server) handleAdminSettingsPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !portier.Can(sessionUser(r).Roles, portier.ActionEditSettings, nil) {
			s.fail(w, r, errNotAllowed)
			return
		}
		st, err := s.Directory.Settings(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p := s.adminPage(r, "admin.settings.title", "settings")
		if r.URL.Query().Get("done") == "saved" {
			p.Notice = p.T.T("admin.done.settings")
		}
		p.Data = settingsFormOf(st)
		s.render(w, http.StatusOK, "admin_settings", p)
	})
}

func (s *server) handleAdminSettings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.adminPage(r, "admin.settings.title", "settings")
		form := settingsFormFrom(r)
		// The form is read inside the change so that a refused actor is refused (and audited)
		// whatever they sent, and an unreadable value is audited as a failure.
		_, err := s.Directory.UpdateSettings(r.Context(), s.adminActor(r), func(st *portier.Settings) error {
			return form.apply(p.T, st)
		})
		if err != nil && !inputError(err) {
			s.fail(w, r, err)
			return
		}
		if err != nil {
			p.Data = form
			s.formError(w, "admin_settings", p, err)
			return
		}
		http.Redirect(w, r, "/admin/settings?done=saved", http.StatusSeeOther)
	})
}
