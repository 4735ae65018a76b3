package filecore

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Field keys shared by the file connectors (Connect+ keys, spec §2.2.1 and
// §2.5.4). Every connector uses exactly these, so a dataflow moves between
// local, SFTP and FTP by changing connection fields only.
const (
	KeySourceDirectory    = "sourceDirectory"
	KeyFileRegex          = "fileRegex"
	KeySearchRecursively  = "searchDirRecursively"
	KeyProcessedDirectory = "processedDirectory"
	KeyAPIErrorFilePath   = "apiErrorFilePath"
	KeyUnzipFiles         = "unzipFiles"
	KeyUnzipMaxSizeMB     = "unzipMaxSizeMB"
	KeyUnzipMaxRatio      = "unzipMaxRatio"
	KeyFileDelimiter      = "File Delimiter"
	KeyReportStatusCode   = "Report Status Code"
	KeyStabilityWait      = "stabilityWait"
	KeyOKFileSuffix       = "okFileSuffix"

	KeyRemotePath            = "remotePath"
	KeyCreateRemoteDirectory = "createRemoteDirectory"
	KeyConflictResolution    = "conflictResolution"
	KeyZipFiles              = "zipFiles"
	KeyOutputFileName        = "outputFileName"
)

// Env option names (block.Env.Options) read by the file connectors.
const (
	// OptStabilityWait is the deployment default for stabilityWait.
	OptStabilityWait = "file.stabilityWait"
	// OptStabilityWaitOverride beats every source's own stabilityWait
	// (connectplus run --stability-wait: what the user typed wins).
	OptStabilityWaitOverride = "file.stabilityWait.override"
	// OptRetryAttempts and OptRetryBackoff tune network retries.
	OptRetryAttempts = "file.retryAttempts"
	OptRetryBackoff  = "file.retryBackoff"
	// OptMaxUnzipBytes is a deployment-wide ceiling on the uncompressed
	// size of one archive: a block's Unzip Size Limit cannot exceed it.
	OptMaxUnzipBytes = "file.maxUnzipBytes"
)

// ReportStatusValues are the `Report Status Code` choices.
var ReportStatusValues = []string{"all", "success", "failure"}

// SourceFields are the pick-up fields of sftp_read (minus connection
// fields), in spec order.
func SourceFields() []block.Field {
	return []block.Field{
		{Key: KeySourceDirectory, Label: "Source Directory", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "Directory polled for input files.", Example: "/APAC2Cluster/A_Connect"},
		{Key: KeyFileRegex, Label: "Filename Pattern", Type: block.TypeRegex, Required: true, Default: ".*.csv",
			Description: "Java regular expression that the whole file name must match (e.g. `file.*.csv` picks files starting with \"file\")."},
		{Key: KeyProcessedDirectory, Label: "Processed Directory", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "Where a file is moved once every record from it is delivered, filtered or failed (created if missing; a name clash gets a timestamp).", Example: "/APAC2Cluster/Process"},
		{Key: KeyAPIErrorFilePath, Label: "API Error Filepath", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "Where the result file `result_<timestamp>_<file>` is written, and where a file that failed as a whole is moved.", Example: "/APAC2Cluster/Errors"},
		{Key: KeyUnzipFiles, Label: "Unzip Files", Type: block.TypeBool, Default: "false", Advanced: true,
			Description: "Unzips incoming .zip files: every file in the archive becomes a separate input, named by its path inside the archive (archives expanding beyond the zip-bomb limits below, or with entry names that escape the directory, are rejected to the error location)."},
		{Key: KeyUnzipMaxSizeMB, Label: "Unzip Size Limit (MB)", Type: block.TypeInt, Default: strconv.Itoa(DefaultUnzipMaxSizeMB), Advanced: true, Min: block.Bound(1),
			Description: "Zip bomb protection: an archive whose files together expand to more than this many megabytes is rejected."},
		{Key: KeyUnzipMaxRatio, Label: "Unzip Ratio Limit", Type: block.TypeNumber, Default: strconv.Itoa(DefaultUnzipMaxRatio), Advanced: true, Min: block.Bound(1),
			Description: "Zip bomb protection: an archive holding a file (over 1 MiB) that expands more than this many times its compressed size is rejected. Text exports compress 5-30:1, very repetitive ones a few hundred to one; deflate bombs reach about 1000:1."},
		{Key: KeySearchRecursively, Label: "Search Directory Recursively", Type: block.TypeBool, Default: "false", Advanced: true,
			Description: "Also pick up files in subdirectories of the source directory (the processed and error directories are skipped)."},
		{Key: KeyFileDelimiter, Label: "File Delimiter", Type: block.TypeString, Required: true, Default: ",", Advanced: true,
			Description: "Delimiter used for file validation; passed downstream as attribute file.delimiter."},
		{Key: KeyReportStatusCode, Label: "Report Status Code", Type: block.TypeEnum, Required: true, Default: "all", Enum: ReportStatusValues, Advanced: true,
			Description: "Which rows go into the result file: all, success or failure; passed downstream as attribute report.status.code."},
		{Key: KeyOKFileSuffix, Label: "Wait For OK File", Type: block.TypeString, Advanced: true, Example: ".ok",
			Description: "When set (e.g. .ok), a data file is picked up only once its companion <name>.ok (or <name without extension>.ok) exists; the companion moves with it. Use with ok_file_3."},
		{Key: KeyStabilityWait, Label: "Upload Stability Wait", Type: block.TypeString, Advanced: true,
			Description: "A file is picked up only once its size and modification time are unchanged across two listings this far apart (Go duration or seconds; default 2s), so files still being uploaded are left alone.", Example: "2s"},
	}
}

// SinkFields are the destination fields of sftp_write (minus connection
// fields), in spec order.
func SinkFields() []block.Field {
	return []block.Field{
		{Key: KeyRemotePath, Label: "Remote Path", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "Destination directory.", Example: "/APAC2Cluster/A_Connect"},
		{Key: KeyCreateRemoteDirectory, Label: "Create Remote Directory", Type: block.TypeBool, Required: true, Default: "false",
			Description: "Create the destination directory when it is missing (otherwise a missing directory fails the file)."},
		{Key: KeyConflictResolution, Label: "Conflict Resolution", Type: block.TypeEnum, Required: true, Enum: Conflicts,
			Description: "When the target name exists: REPLACE overwrites it; IGNORE writes nothing and reports success; RENAME writes the new file as `<n>.<name>`; FAIL fails the file; NONE does not check and overwrites."},
		{Key: KeyZipFiles, Label: "Zip Files", Type: block.TypeBool, Required: true, Default: "false",
			Description: "Compress before upload: the file is written as `<name>.zip` holding one entry."},
		{Key: KeyOutputFileName, Label: "Output File Name", Type: block.TypeString, Default: "${filename}", SupportsExpressions: true, Advanced: true,
			Description: "Name of the written file (NiFi Expression Language). It must render to a base name: a `/` or `..` is rejected. Record input is written as JSON Lines under this name, published when the source file's lineage completes."},
	}
}

// SourceConfigFrom reads the shared source fields.
func SourceConfigFrom(c *block.Config, env *block.Env) (SourceConfig, error) {
	re, err := block.CompileJavaRegexWhole(c.String(KeyFileRegex))
	if err != nil {
		return SourceConfig{}, fmt.Errorf("%s: %w", KeyFileRegex, err)
	}
	wait, err := StabilityWait(c, env)
	if err != nil {
		return SourceConfig{}, err
	}
	lim, err := ZipLimitsFrom(c, env)
	if err != nil {
		return SourceConfig{}, err
	}
	return SourceConfig{
		Dir:           c.String(KeySourceDirectory),
		Pattern:       re,
		Recursive:     c.Bool(KeySearchRecursively),
		ProcessedDir:  c.String(KeyProcessedDirectory),
		ErrorDir:      c.String(KeyAPIErrorFilePath),
		ResultDir:     c.String(KeyAPIErrorFilePath),
		Unzip:         c.Bool(KeyUnzipFiles),
		Delimiter:     c.String(KeyFileDelimiter),
		ReportStatus:  c.String(KeyReportStatusCode),
		StabilityWait: wait,
		OKSuffix:      strings.TrimSpace(c.String(KeyOKFileSuffix)),
		Zip:           lim,
		SpoolDir:      envWorkDir(env),
	}, nil
}

// ZipLimitsFrom reads a source's unzip limits: the block's Unzip Size
// Limit and Unzip Ratio Limit, the size capped by the deployment option
// OptMaxUnzipBytes when set.
func ZipLimitsFrom(c *block.Config, env *block.Env) (ZipLimits, error) {
	lim := DefaultZipLimits
	lim.MaxTotal = int64(c.Int(KeyUnzipMaxSizeMB, DefaultUnzipMaxSizeMB)) << 20
	lim.MaxRatio = c.Float(KeyUnzipMaxRatio, DefaultUnzipMaxRatio)
	if v := option(env, OptMaxUnzipBytes); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return ZipLimits{}, fmt.Errorf("option %s: %q is not a positive byte count", OptMaxUnzipBytes, v)
		}
		if n < lim.MaxTotal {
			lim.MaxTotal = n
			lim.TotalSetting = "the deployment option " + OptMaxUnzipBytes
		}
	}
	return lim, nil
}

// SinkConfigFrom reads the shared sink fields.
func SinkConfigFrom(c *block.Config, env *block.Env) (SinkConfig, error) {
	nameSrc := c.String(KeyOutputFileName)
	if strings.TrimSpace(nameSrc) == "" {
		nameSrc = "${filename}"
	}
	tmpl, err := env.CompileTemplate(nameSrc)
	if err != nil {
		return SinkConfig{}, fmt.Errorf("%s: %w", KeyOutputFileName, err)
	}
	cr := Conflict(strings.ToUpper(strings.TrimSpace(c.String(KeyConflictResolution))))
	return SinkConfig{
		Dir:       c.String(KeyRemotePath),
		CreateDir: c.Bool(KeyCreateRemoteDirectory),
		Conflict:  cr,
		Zip:       c.Bool(KeyZipFiles),
		Name:      tmpl,
		SpoolDir:  RecordSpoolDir(env),
		Block:     envBlock(env),
	}, nil
}

// RetryFrom reads the retry options.
func RetryFrom(env *block.Env) Retry {
	r := DefaultRetry
	if v := option(env, OptRetryAttempts); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			r.Attempts = n
		}
	}
	if v := option(env, OptRetryBackoff); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			r.Backoff = d
		}
	}
	return r
}

// CheckSourceDirs rejects directory settings that cannot work: a
// processed or error directory equal to the source directory would be
// picked up again. Used by Spec.Check of the sources.
func CheckSourceDirs(c *block.Config) []block.Problem {
	var probs []block.Problem
	src := CleanDir(c.String(KeySourceDirectory))
	for _, k := range []string{KeyProcessedDirectory, KeyAPIErrorFilePath} {
		if !c.Has(k) {
			continue
		}
		if d := CleanDir(c.String(k)); d == src {
			probs = append(probs, block.Problem{Path: k, Message: fmt.Sprintf("%s must differ from %s (%q), or processed files would be picked up again", k, KeySourceDirectory, d)})
		}
	}
	if v := c.String(KeyStabilityWait); v != "" {
		if _, err := durationSetting(v, "", 0); err != nil {
			probs = append(probs, block.Problem{Path: KeyStabilityWait, Message: err.Error()})
		}
	}
	return probs
}

// CheckNoDotDot rejects ".." segments in the given directory fields, so a
// configured path cannot climb out of where it appears to point.
func CheckNoDotDot(c *block.Config, keys ...string) []block.Problem {
	var probs []block.Problem
	for _, k := range keys {
		v := strings.ReplaceAll(c.String(k), "\\", "/")
		for _, seg := range strings.Split(v, "/") {
			if seg == ".." {
				probs = append(probs, block.Problem{Path: k, Message: fmt.Sprintf("%s must not contain \"..\" (got %q)", k, c.String(k))})
				break
			}
		}
	}
	return probs
}

func durationSetting(v, fallback string, def time.Duration) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "null" {
		v = strings.TrimSpace(fallback)
	}
	if v == "" {
		return def, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("%q is not a duration (e.g. \"2s\" or \"0.5\")", v)
}

// StabilityWait reads a source's stabilityWait: the override option, else
// the block's field, else the deployment default, else DefaultStabilityWait.
// Zero means no wait.
func StabilityWait(c *block.Config, env *block.Env) (time.Duration, error) {
	v := option(env, OptStabilityWaitOverride)
	if strings.TrimSpace(v) == "" {
		v = c.String(KeyStabilityWait)
	}
	d, err := durationSetting(v, option(env, OptStabilityWait), DefaultStabilityWait)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", KeyStabilityWait, err)
	}
	return d, nil
}

func option(env *block.Env, k string) string {
	if env == nil || env.Options == nil {
		return ""
	}
	return env.Options[k]
}

func envWorkDir(env *block.Env) string {
	if env == nil || env.WorkDir == "" {
		return ""
	}
	return path.Clean(env.WorkDir)
}

// RecordSpoolDir is where a sink keeps the records file of a lineage on a
// file system that cannot append: the checkpoint's resume state holds its
// length, so it must survive the process (Env.StateDir), not live in a work
// directory that a kill takes with it.
func RecordSpoolDir(env *block.Env) string {
	if env != nil && env.StateDir != "" {
		return path.Clean(env.StateDir)
	}
	return envWorkDir(env)
}

func envBlock(env *block.Env) string {
	if env == nil {
		return ""
	}
	return env.Block
}
