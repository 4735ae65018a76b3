package remote

// Connection field keys (spec §2.2.1, §2.5.4) and this implementation's
// additions for host-key verification and FTPS.
const (
	KeyHostname       = "hostname"
	KeyUsername       = "username"
	KeyPassword       = "password"
	KeyPort           = "port"
	KeyPrivateKey     = "private_key_path"
	KeyPassphrase     = "key_passphrase"
	KeyKnownHosts     = "knownHosts"
	KeyFingerprint    = "hostKeyFingerprint"
	KeyInsecure       = "insecureAcceptAnyHostKey"
	KeyProtocol       = "protocol"
	KeyFTPSMode       = "ftpsMode"
	KeyFTPSCA         = "ftpsCaCertificate"
	KeyFTPSInsecure   = "ftpsInsecureSkipVerify"
	KeyConnectTimeout = "connectTimeout"
)
