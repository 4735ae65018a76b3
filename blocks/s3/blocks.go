// Package s3 provides s3_read and s3_write over AWS S3 and S3-compatible
// stores (endpointUrl + pathStyle). File behaviour comes from
// blocks/filecore, shared with the SFTP, FTP and local connectors; S3 has
// no rename, so a "move" is copy + delete and uploads are published by
// completing a (multipart) upload instead of renaming a temporary object.
package s3

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
)

// Field keys (spec §2.2.2, §2.5.5) plus endpointUrl and pathStyle for
// S3-compatible stores.
const (
	KeyBucket       = "s3BucketName"
	KeyBucketRegion = "s3BucketRegion"
	KeyAccessKey    = "s3AccessKey"
	KeySecretKey    = "s3SecretKey"
	KeyInputPath    = "s3InputPath"
	KeyOutputPath   = "s3OutputPath"
	KeyFilePattern  = "s3FilePattern"
	KeyEndpoint     = "endpointUrl"
	KeyPathStyle    = "pathStyle"

	KeyObjectKey   = "s3ObjectKey"
	KeyContentType = "contentType"
	KeyWAccessKey  = "accessKey"
	KeyWSecretKey  = "secretKey"
	KeyAWSRegion   = "awsRegion"
	KeyCredService = "AWSCredentialsProviderService"
)

// ReadRegions is s3BucketRegion's enum (spec §2.2.2).
var ReadRegions = []string{"us-gov-west-1", "us-gov-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
	"eu-west-3", "eu-central-1", "eu-north-1", "ap-east-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
	"ap-northeast-2", "sa-east-1", "cn-north-1", "cn-northwest-1", "ca-central-1", "me-south-1"}

// WriteRegions is awsRegion's enum (spec §2.5.5).
var WriteRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1", "us-west-2", "us-east-2"}

func endpointFields() []block.Field {
	return []block.Field{
		{Key: KeyEndpoint, Label: "Endpoint URL", Type: block.TypeString, Advanced: true, FromConfigs: true,
			Description: "Base URL of an S3-compatible store (e.g. http://minio:9000); empty for AWS.", Example: "http://127.0.0.1:7070"},
		{Key: KeyPathStyle, Label: "Path-style addressing", Type: block.TypeBool, Default: "false", Advanced: true,
			Description: "Address buckets as <endpoint>/<bucket> instead of <bucket>.<endpoint> (most S3-compatible stores need this)."},
	}
}

func readFields() []block.Field {
	fs := []block.Field{
		{Key: KeyBucket, Label: "Bucket Name", Type: block.TypeString, Required: true, FromConfigs: true},
		{Key: KeyBucketRegion, Label: "S3 Region", Type: block.TypeEnum, Required: true, Default: "us-east-1", Enum: ReadRegions},
		{Key: KeyAccessKey, Label: "S3 accessKey", Type: block.TypeString, Required: true, FromConfigs: true},
		{Key: KeySecretKey, Label: "Secret Key", Type: block.TypeString, Required: true, Secret: true},
		{Key: KeyInputPath, Label: "Input Path", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "Key prefix polled for input objects (subprefixes are not searched).", Example: "data/incoming/"},
		{Key: KeyOutputPath, Label: "Output Path", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "Prefix processed objects are moved to (copy + delete). It cannot be the bucket root, the input path or under it.", Example: "data/processed/"},
		{Key: KeyFilePattern, Label: "Filename Pattern", Type: block.TypeRegex, Required: true, Default: ".*.csv",
			Description: "Java regular expression the whole object name (after the prefix) must match."},
		{Key: filecore.KeyAPIErrorFilePath, Label: "API Error Filepath", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "Prefix for result files, and for objects that failed as a whole.", Example: "data/errors/"},
		{Key: filecore.KeyFileDelimiter, Label: "File Delimiter", Type: block.TypeString, Required: true, Default: ",",
			Description: "Delimiter of the files (comma or pipe); passed downstream as attribute file.delimiter."},
	}
	for _, f := range filecore.SourceFields() {
		switch f.Key {
		case filecore.KeyReportStatusCode, filecore.KeyUnzipFiles, filecore.KeyStabilityWait:
			fs = append(fs, f)
		}
	}
	return append(fs, endpointFields()...)
}

// ReadSpec is s3_read.
var ReadSpec = &block.Spec{
	Type:     "s3_read",
	Label:    "S3 (Read)",
	Class:    block.ClassSource,
	Category: "Source",
	Description: "Polls a bucket prefix for objects matching the pattern, streams each downstream, then moves it (copy + " +
		"delete) to the output path, or to the API error path when it failed as a whole, where the result file is written too.",
	LegacyTypes: []string{"s3_pull"},
	Input:       block.KindNone,
	Output:      block.KindFile,
	Fields:      readFields(),
	Check:       checkRead,
	New:         newRead,
}

// WriteSpec is s3_write. Its output is the uploaded object (KindFile).
var WriteSpec = &block.Spec{
	Type:     "s3_write",
	Label:    "S3 (Write)",
	Class:    block.ClassExecutor,
	Category: "Destination",
	Description: "Uploads each file as an object (multipart in 8 MiB parts for large files, memory bounded; the object " +
		"appears only when complete). Record input is written as JSON Lines and uploaded when the lineage completes.",
	LegacyTypes: []string{"s3_push"},
	Input:       block.KindAny,
	Output:      block.KindFile,
	Fields: append([]block.Field{
		{Key: KeyObjectKey, Label: "S3 Object name/Filename", Type: block.TypeString, Required: true, Default: "${filename}", SupportsExpressions: true,
			Description: "Object key (NiFi Expression Language), e.g. <audience_Group_Name>/${filename}. It must be relative with no \"..\" segments."},
		{Key: KeyBucket, Label: "S3 Bucket Name", Type: block.TypeString, Required: true, FromConfigs: true},
		{Key: KeyContentType, Label: "Content Type", Type: block.TypeString, Required: true, Default: "application/octet-stream"},
		{Key: KeyWAccessKey, Label: "Access Key", Type: block.TypeString, FromConfigs: true},
		{Key: KeyWSecretKey, Label: "Secret Key", Type: block.TypeString, Secret: true},
		{Key: KeyAWSRegion, Label: "AWS Region", Type: block.TypeEnum, Required: true, Enum: WriteRegions},
		{Key: KeyCredService, Label: "AWS Credentials Provider service", Type: block.TypeEnum, Default: "None", Enum: []string{"None", "InternalService"},
			Description: "None: use the access and secret keys. InternalService: the deployment's own credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN of the server process)."},
	}, endpointFields()...),
	Check: checkWrite,
	New:   newWrite,
}

// Register adds s3_read and s3_write.
func Register(r *block.Registry) { r.MustRegister(ReadSpec, WriteSpec) }

// normPrefix turns a configured path into "a/b/" form ("" for the root).
func normPrefix(p string) string {
	p = strings.Trim(strings.TrimSpace(strings.ReplaceAll(p, "\\", "/")), "/")
	if p == "" || p == "." {
		return ""
	}
	return p + "/"
}

// checkRead applies Connect+'s path rules: the output path cannot be the
// root, the input path, or under the input path.
func checkRead(c *block.Config) []block.Problem {
	var probs []block.Problem
	in, out := normPrefix(c.String(KeyInputPath)), normPrefix(c.String(KeyOutputPath))
	switch {
	case out == "":
		probs = append(probs, block.Problem{Path: KeyOutputPath, Message: "s3OutputPath cannot be the bucket root \"/\""})
	case out == in:
		probs = append(probs, block.Problem{Path: KeyOutputPath, Message: fmt.Sprintf("s3OutputPath cannot be the same as s3InputPath (%q)", in)})
	case strings.HasPrefix(out, in):
		probs = append(probs, block.Problem{Path: KeyOutputPath, Message: fmt.Sprintf("s3OutputPath %q cannot be under s3InputPath %q", out, in)})
	}
	if e := normPrefix(c.String(filecore.KeyAPIErrorFilePath)); c.Has(filecore.KeyAPIErrorFilePath) && e == in {
		probs = append(probs, block.Problem{Path: filecore.KeyAPIErrorFilePath, Message: "apiErrorFilePath cannot be the same as s3InputPath"})
	}
	probs = append(probs, filecore.CheckNoDotDot(c, KeyInputPath, KeyOutputPath, filecore.KeyAPIErrorFilePath)...)
	return append(probs, checkEndpoint(c)...)
}

func checkWrite(c *block.Config) []block.Problem {
	var probs []block.Problem
	if c.String(KeyCredService) != "InternalService" {
		for _, k := range []string{KeyWAccessKey, KeyWSecretKey} {
			if _, ref := c.Ref(k); !c.Has(k) && !ref {
				probs = append(probs, block.Problem{Path: k, Message: k + " is required unless AWSCredentialsProviderService is InternalService"})
			}
		}
	}
	return append(probs, checkEndpoint(c)...)
}

func checkEndpoint(c *block.Config) []block.Problem {
	if v := c.String(KeyEndpoint); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return []block.Problem{{Path: KeyEndpoint, Message: fmt.Sprintf("endpointUrl must be an http(s) URL, got %q", v)}}
		}
	}
	return nil
}

// Client builds an S3 client. Checksums are computed only when an
// operation requires them: S3-compatible stores differ in their support of
// the newer default checksum headers.
func Client(region, accessKey, secretKey, endpoint string, pathStyle bool) *s3.Client {
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, Source: "connectplus"}
	opts := s3.Options{
		Region:                     region,
		UsePathStyle:               pathStyle,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		})),
	}
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(strings.TrimRight(endpoint, "/"))
	}
	return s3.New(opts)
}

func pool(c *s3.Client, bucket, contentType, endpoint string, env *block.Env) *filecore.Pool {
	host := endpoint
	if host == "" {
		host = "s3://"
	} else {
		host += "/"
	}
	f := &s3FS{c: c, bucket: bucket, contentType: contentType, desc: host + bucket}
	return filecore.NewPool(func(context.Context) (filecore.FS, error) { return f, nil }, filecore.RetryFrom(env), env.Log())
}

func newRead(c *block.Config, env *block.Env) (block.Block, error) {
	cl := Client(c.String(KeyBucketRegion), c.String(KeyAccessKey), c.String(KeySecretKey), c.String(KeyEndpoint), c.Bool(KeyPathStyle))
	re, err := block.CompileJavaRegexWhole(c.String(KeyFilePattern))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyFilePattern, err)
	}
	// The shared source config reads the common keys; S3 names its own.
	shared := block.NewConfig(&block.Spec{Fields: filecore.SourceFields()}, map[string]string{
		filecore.KeyFileRegex:        ".*",
		filecore.KeyFileDelimiter:    c.String(filecore.KeyFileDelimiter),
		filecore.KeyReportStatusCode: c.String(filecore.KeyReportStatusCode),
		filecore.KeyUnzipFiles:       c.String(filecore.KeyUnzipFiles),
		filecore.KeyStabilityWait:    c.String(filecore.KeyStabilityWait),
	})
	cfg, err := filecore.SourceConfigFrom(shared, env)
	if err != nil {
		return nil, err
	}
	cfg.Pattern = re
	cfg.Dir = strings.TrimSuffix(normPrefix(c.String(KeyInputPath)), "/")
	cfg.ProcessedDir = strings.TrimSuffix(normPrefix(c.String(KeyOutputPath)), "/")
	errDir := strings.TrimSuffix(normPrefix(c.String(filecore.KeyAPIErrorFilePath)), "/")
	cfg.ErrorDir, cfg.ResultDir = errDir, errDir
	if cfg.ErrorDir == "" {
		// A result/error path at the bucket root is allowed; "." is the root.
		cfg.ErrorDir, cfg.ResultDir = ".", "."
	}
	return filecore.NewSource(pool(cl, c.String(KeyBucket), "application/octet-stream", c.String(KeyEndpoint), env), cfg, env), nil
}

func newWrite(c *block.Config, env *block.Env) (block.Block, error) {
	ak, sk := c.String(KeyWAccessKey), c.String(KeyWSecretKey)
	if c.String(KeyCredService) == "InternalService" {
		ak, sk = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if ak == "" || sk == "" {
			return nil, fmt.Errorf("AWSCredentialsProviderService is InternalService but AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set for the server process")
		}
	}
	cl := internalAware(c, ak, sk)
	tmpl, err := env.CompileTemplate(c.String(KeyObjectKey))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyObjectKey, err)
	}
	blockName := ""
	if env != nil {
		blockName = env.Block
	}
	cfg := filecore.SinkConfig{
		Dir: "", CreateDir: true, Conflict: filecore.ConflictReplace, Name: tmpl, ObjectKeys: true,
		SpoolDir: filecore.RecordSpoolDir(env), Block: blockName,
	}
	return filecore.NewSink(pool(cl, c.String(KeyBucket), c.String(KeyContentType), c.String(KeyEndpoint), env), cfg, env)
}

func internalAware(c *block.Config, ak, sk string) *s3.Client {
	cl := Client(c.String(KeyAWSRegion), ak, sk, c.String(KeyEndpoint), c.Bool(KeyPathStyle))
	if tok := os.Getenv("AWS_SESSION_TOKEN"); tok != "" && c.String(KeyCredService) == "InternalService" {
		creds := aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk, SessionToken: tok, Source: "environment"}
		return s3.New(cl.Options(), func(o *s3.Options) {
			o.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }))
		})
	}
	return cl
}

// NewFS is the S3 file system over one bucket of c, for other packages
// that keep objects on S3 through the same client code (the cluster's
// shared store).
func NewFS(c *s3.Client, bucket, desc string) filecore.FS {
	return &s3FS{c: c, bucket: bucket, contentType: "application/octet-stream", desc: desc}
}
