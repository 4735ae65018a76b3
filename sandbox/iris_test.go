package sandbox

import (
	"net/http"
	"testing"
)

func TestAudienceReload(t *testing.T) {
	e := newEnv(t, Config{})
	e.tok = "" // Iris does not take the OAuth token
	ok := e.expect(e.do("POST", "/v2/audience/ftp/reload", `{"audienceName":"FTP_Test","fileName":"list.csv","filePath":"FTP_Test/list.csv"}`,
		"X_CAP_ORG", "100458", "X_CAP_CT", "anything"), 200).obj()
	if ok["audienceName"] != "FTP_Test" || ok["status"].(map[string]any)["success"] != true {
		t.Fatalf("answer %v", ok)
	}
	e.expect(e.do("GET", "/iris/v2/audience/ftp/reload?audienceName=IN_xyz", "", "X-CAP-ORG", "100458"), 200)
	for _, c := range []struct {
		body   string
		hdr    []string
		status int
	}{
		{`{"audienceName":"FTP Test"}`, []string{"X_CAP_ORG", "1", "X_CAP_CT", "t"}, http.StatusBadRequest},
		{`{"audienceName":"A"}`, []string{"X_CAP_CT", "t"}, http.StatusUnauthorized},
		{`{"audienceName":"A"}`, []string{"X_CAP_ORG", "org", "X_CAP_CT", "t"}, http.StatusBadRequest},
		{`{}`, []string{"X_CAP_ORG", "1", "X_CAP_CT", "t"}, http.StatusBadRequest},
	} {
		e.expect(e.do("POST", "/v2/audience/ftp/reload", c.body, c.hdr...), c.status)
	}
	es := e.s.Entities(KindAudienceReload)
	if len(es) != 2 || es[0].Attributes["orgId"] != "100458" || es[0].Attributes["token"] != "anything" || es[1].Attributes["audienceName"] != "IN_xyz" {
		t.Fatalf("entities %+v", es)
	}
}
