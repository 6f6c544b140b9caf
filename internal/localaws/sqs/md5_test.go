package sqs

import "testing"

// MD5OfMessageAttributes must follow AWS's documented algorithm, otherwise
// SDKs that check it (Java, .NET) reject every message with attributes. The
// expected digests are published samples computed against AWS's algorithm
// by independent implementations; none is derived from this code.
func TestMD5OfAttributesMatchesPublishedSamples(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]MessageAttribute
		want  string
	}{
		{
			name: "two strings, given out of order (Amazon sample, ydb-platform/ydb attributes_md5 test)",
			attrs: map[string]MessageAttribute{
				"test_attribute_name_2": {DataType: "String", StringValue: "test_attribute_value_2"},
				"test_attribute_name_1": {DataType: "String", StringValue: "test_attribute_value_1"},
			},
			want: "d53f3b558fe951154770f25cb63dbba9",
		},
		{
			name: "one binary (Amazon sample, ydb-platform/ydb attributes_md5 test)",
			attrs: map[string]MessageAttribute{
				"test_attribute_name": {DataType: "Binary", BinaryValue: []byte("test_attribute_value")},
			},
			want: "23f6bd27ea87aab7dfeadcc9aebee495",
		},
		{
			name:  "a number (localstack test_sqs_message_attrs_md5)",
			attrs: map[string]MessageAttribute{"timestamp": {DataType: "Number", StringValue: "1493147359900"}},
			want:  "235c5c510d26fb653d073faed50ae77c",
		},
		{
			name: "a custom number type (npm aws-md5-of-message-attributes README)",
			attrs: map[string]MessageAttribute{
				"customNumberTypeAttrib": {DataType: "Number.float", StringValue: "4563442423554324324264524243.32543234"},
			},
			want: "9fe1b90bbd9965bdf77bac517c7d2495",
		},
		{
			name: "string, number and binary together (npm aws-md5-of-message-attributes README)",
			attrs: map[string]MessageAttribute{
				"attribName1":            {DataType: "String", StringValue: "attribValue 1"},
				"customNumberTypeAttrib": {DataType: "Number.float", StringValue: "4563442423554324324264524243.32543234"},
				"binaryAttribute":        {DataType: "Binary", BinaryValue: []byte("Hello binary world!")},
			},
			want: "c932db14a896c663f83c260297d594ff",
		},
		{name: "no attributes gives no digest", attrs: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := md5OfAttributes(tt.attrs); got != tt.want {
				t.Errorf("md5OfAttributes(%v): got %q, want %q", tt.attrs, got, tt.want)
			}
		})
	}
}

// MD5OfMessageBody / MD5OfBody is the lowercase hex MD5 of the raw body
// (aws-sdk-go-v2 service/sqs cust_checksum_validation.go); the samples are AWS's own documentation examples.
func TestMD5OfBodyMatchesAWSExamples(t *testing.T) {
	tests := []struct {
		source string
		body   string
		want   string
	}{
		{"the SendMessage JSON response sample", `{"instanceId":"i-1234567890abcdef0","attempt":3}`, "5caf8e7e1c4e0ccb0fb51c5c736fb191"},
		{"the Lambda SQS event sample", "Test message.", "e4e68fb7bd0e697a0ae8f1bb342846b3"},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			if got := md5Hex(tt.body); got != tt.want {
				t.Errorf("md5Hex(%q): got %s, want %s", tt.body, got, tt.want)
			}
		})
	}
}
