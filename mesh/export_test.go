package mesh

// AppendFeedFrameBody is appendFeedFrameBody, for the feed decoder's
// fuzz test.
var AppendFeedFrameBody = appendFeedFrameBody
