namespace ModelForge.Package.Triton;

/// <summary>What Triton does with a request that waited longer than its timeout: <c>REJECT</c> it, or <c>DELAY</c> it behind the others.</summary>
public enum TimeoutAction
{
    Reject,
    Delay,
}

/// <summary>
/// Triton's <c>ModelQueuePolicy</c>: how a dynamic-batching queue treats waiting requests (serving.md §2.2). Zero
/// means "none" for the timeout and "unbounded" for the queue size, as in Triton.
/// </summary>
public sealed record TritonQueuePolicy
{
    public TimeoutAction TimeoutAction { get; init; } = TimeoutAction.Reject;

    /// <summary><c>default_timeout_microseconds</c>: how long a request may wait in the queue; 0 for no timeout.</summary>
    public long DefaultTimeoutMicroseconds { get; init; }

    /// <summary><c>allow_timeout_override</c>: a request may ask for a shorter timeout than the default.</summary>
    public bool AllowTimeoutOverride { get; init; }

    /// <summary><c>max_queue_size</c>: requests beyond it are rejected at once; 0 for no limit.</summary>
    public long MaxQueueSize { get; init; }
}

/// <summary>One resource of <c>rate_limiter.resources</c>: an instance runs only when <paramref name="Count"/> units of it are free.</summary>
/// <param name="Global">Shared by every device rather than counted per device.</param>
public sealed record TritonRateLimiterResource(string Name, long Count, bool Global = false);

/// <summary>
/// <c>instance_group.rate_limiter</c>: the resources each instance needs to execute and its scheduling priority (an
/// instance with priority 2 gets half the chances of one with priority 1). Triton applies it only when the server is
/// started with <c>--rate-limit=execution_count</c>.
/// </summary>
public sealed record TritonRateLimiter
{
    public IReadOnlyList<TritonRateLimiterResource> Resources { get; init; } = [];

    /// <summary>0 leaves Triton's default (treated as 1).</summary>
    public long Priority { get; init; }
}

/// <summary>
/// Serving settings of a Triton model beyond its interface and batching, from the spec's <c>package.triton</c> section.
/// Each is checked against the rule the server (or the onnxruntime backend) applies before anything is written:
/// see docs/serving.md, "More Triton settings".
/// </summary>
public sealed record TritonSettings
{
    /// <summary><c>response_cache { enable: true }</c>: identical requests are answered from the server's cache (started with <c>--cache-config</c>).</summary>
    public bool ResponseCache { get; init; }

    /// <summary><c>dynamic_batching.priority_levels</c>: 0 for one queue.</summary>
    public long PriorityLevels { get; init; }

    /// <summary><c>dynamic_batching.default_priority_level</c>: the level of a request that names none, in 1..<see cref="PriorityLevels"/>.</summary>
    public long DefaultPriorityLevel { get; init; }

    /// <summary><c>dynamic_batching.default_queue_policy</c>; null leaves Triton's (reject never, unbounded).</summary>
    public TritonQueuePolicy? QueuePolicy { get; init; }

    /// <summary><c>dynamic_batching.priority_queue_policy</c>: the policy of one priority level, by level.</summary>
    public IReadOnlyDictionary<long, TritonQueuePolicy> PriorityQueuePolicies { get; init; } = new Dictionary<long, TritonQueuePolicy>();

    public TritonRateLimiter? RateLimiter { get; init; }

    /// <summary>
    /// A <c>.npz</c> with one array per input (by the model's input names, batch dim first): warm-up runs the model on
    /// its first sample instead of zeros. The raw bytes go to the model's <c>warmup/</c> folder.
    /// </summary>
    public string? WarmupSample { get; init; }

    /// <summary>
    /// Model <c>parameters</c> of the onnxruntime backend (<c>intra_op_thread_count</c>, <c>inter_op_thread_count</c>,
    /// <c>execution_mode</c>, …) by the backend's names; they override the thread counts derived from the instance count.
    /// </summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The cores the model's instances share: <c>intra_op_thread_count</c> is cores / instances (at least 1), as the
    /// tuner measured them. Null writes no thread counts (the backend's default).
    /// </summary>
    public int? Cores { get; init; }
}
