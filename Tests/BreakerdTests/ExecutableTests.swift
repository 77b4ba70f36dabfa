import Testing

/// Every suite that runs the breakerd executable, one test at a time. These tests are
/// synchronous and hold a thread of Swift's cooperative pool while they wait on the child
/// process; on a 2-core machine two of them at once leave no thread for the in-process async
/// tests, whose timing (a 1.5 s deadline across a restart, say) then slips. Nesting them here
/// makes `.serialized` apply to all of them together.
@Suite(.serialized)
struct ExecutableTests {}
