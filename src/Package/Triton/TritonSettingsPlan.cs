using System.Globalization;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Package.Triton;

/// <summary>
/// <see cref="TritonSettings"/> checked for one model, ready to write. Every setting is held to the rule the server
/// (core's <c>ValidateModelConfig</c>, the rate limiter, the onnxruntime backend; serving.md §2.2–2.5) applies at load
/// time, and a value the server would silently ignore is refused too, so what the spec asks for is what runs.
/// </summary>
internal sealed class TritonSettingsPlan
{
    private readonly TritonSettings _settings;

    private TritonSettingsPlan(TritonSettings settings, SortedDictionary<string, string> parameters, WarmupSample? sample, List<Diagnostic> warnings)
    {
        _settings = settings;
        Parameters = parameters;
        Sample = sample;
        Warnings = warnings;
    }

    /// <summary>The model <c>parameters</c> to write, by key (ordinal order).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary>The user's warm-up sample, read and checked against the inputs; null for zero-data warm-up.</summary>
    public WarmupSample? Sample { get; }

    public IReadOnlyList<Diagnostic> Warnings { get; }

    /// <param name="inputs">The inputs as config.pbtxt declares them (libtorch names included).</param>
    public static TritonSettingsPlan Check(PackageRequest request, TritonOptions options, OnnxSignature signature, IReadOnlyList<TritonTensor> inputs)
    {
        var settings = options.Settings;
        CheckSettings(settings, options.Backend, request.Device, request.Batching.MaxBatchSize > 0);
        var parameters = ResolveParameters(settings, request, options);

        var warnings = new List<Diagnostic>();
        if (settings.ResponseCache && signature.RandomOperators.Count > 0)
            warnings.Add(new Diagnostic(DiagnosticCode.TritonResponseCacheNondeterministic,
                $"the response cache is on, but the model draws random numbers ({string.Join(", ", signature.RandomOperators)}): a cached response repeats one draw for every identical request",
                new SourceLocation(signature.Path), "turn the response cache off for this model (package.triton.responseCache: false), or make it deterministic",
                DiagnosticSeverity.Warning));

        WarmupSample? sample = null;
        if (settings.WarmupSample is { } samplePath)
        {
            if (!options.Warmup)
                throw new ModelForgeException(DiagnosticCode.TritonWarmupSampleInvalid,
                    $"a warm-up sample ('{samplePath}') is given with warm-up turned off: it would not be used", new SourceLocation(samplePath),
                    "remove package.triton.warmup: false, or the warm-up sample");
            sample = WarmupSample.Read(samplePath, request, inputs);
        }
        return new TritonSettingsPlan(settings, parameters, sample, warnings);
    }

    /// <summary>
    /// The rules that need only the settings and how the model is served, not the ONNX model, the tuned instance count
    /// or the sample's data: a build checks them when it reads the spec, so a bad setting fails before anything is converted.
    /// </summary>
    /// <param name="device">Null when not known yet (a spec that builds a TensorRT engine serves on GPU only if the engine is built): the GPU-only parameters are then checked when packaging.</param>
    public static void CheckSettings(TritonSettings settings, TritonBackend backend, DeviceKind? device, bool batching)
    {
        CheckPriorities(settings, batching);
        CheckQueuePolicies(settings, batching);
        if (settings.RateLimiter is { } limiter) CheckRateLimiter(limiter);
        CheckParameters(settings, backend, device);
    }

    /// <summary>The queue settings inside <c>dynamic_batching</c>: priorities and queue policies.</summary>
    public void WriteQueueSettings(PbtxtWriter p)
    {
        if (_settings.PriorityLevels > 0)
            p.Number("priority_levels", _settings.PriorityLevels).Number("default_priority_level", _settings.DefaultPriorityLevel);
        if (_settings.QueuePolicy is { } policy)
            p.Message("default_queue_policy", q => WriteQueuePolicy(q, policy));
        foreach (var (level, levelPolicy) in _settings.PriorityQueuePolicies.OrderBy(e => e.Key))
            p.Message("priority_queue_policy", e => e.Number("key", level).Message("value", q => WriteQueuePolicy(q, levelPolicy)));
    }

    /// <summary><c>rate_limiter</c> inside the instance group, when resources or a priority are set.</summary>
    public void WriteRateLimiter(PbtxtWriter p)
    {
        if (_settings.RateLimiter is not { } limiter || (limiter.Resources.Count == 0 && limiter.Priority == 0)) return;
        p.Message("rate_limiter", r =>
        {
            if (limiter.Resources.Count > 0)
                r.Messages("resources", limiter.Resources, (e, resource) =>
                {
                    e.String("name", resource.Name);
                    if (resource.Global) e.Bool("global", true);
                    e.Number("count", resource.Count);
                });
            if (limiter.Priority > 0) r.Number("priority", limiter.Priority);
        });
    }

    /// <summary>The model-level <c>parameters</c> and <c>response_cache</c>.</summary>
    public void WriteModelSettings(PbtxtWriter p)
    {
        foreach (var (key, value) in Parameters) p.ModelParameter(key, value);
        if (_settings.ResponseCache) p.Message("response_cache", c => c.Bool("enable", true));
    }

    private static void WriteQueuePolicy(PbtxtWriter q, TritonQueuePolicy policy)
    {
        q.Enum("timeout_action", policy.TimeoutAction == TimeoutAction.Delay ? "DELAY" : "REJECT");
        q.Number("default_timeout_microseconds", policy.DefaultTimeoutMicroseconds);
        q.Bool("allow_timeout_override", policy.AllowTimeoutOverride);
        q.Number("max_queue_size", policy.MaxQueueSize);
    }

    /// <summary><c>ValidateModelConfig</c>: with priority_levels N ≠ 0 the default level and every policy's level are in [1, N].</summary>
    private static void CheckPriorities(TritonSettings settings, bool batching)
    {
        var levels = settings.PriorityLevels;
        if (levels < 0 || settings.DefaultPriorityLevel < 0)
            throw Priority($"priority_levels {levels} and default_priority_level {settings.DefaultPriorityLevel}: both are unsigned, so neither may be negative",
                "use priorityLevels N ≥ 1 and a defaultPriorityLevel in 1..N, or leave both out for one queue");
        if (levels == 0)
        {
            if (settings.DefaultPriorityLevel != 0)
                throw Priority($"default_priority_level {settings.DefaultPriorityLevel} without priority_levels: with one queue Triton ignores it",
                    "set priorityLevels to the number of levels, or leave defaultPriorityLevel out");
            if (settings.PriorityQueuePolicies.Count > 0)
                throw Priority($"priority_queue_policy for level {settings.PriorityQueuePolicies.Keys.Min()} without priority_levels: with one queue Triton ignores it",
                    "set priorityLevels, or give the policy as queuePolicy (every request's)");
            return;
        }
        if (!batching)
            throw Priority($"priority_levels {levels} on a model with max_batch_size 0: priorities are a setting of the dynamic batcher, which ModelForge configures only for batching models",
                "serve the model with a batch dim (max_batch_size > 0), or leave priorities out");
        if (settings.DefaultPriorityLevel < 1 || settings.DefaultPriorityLevel > levels)
            throw Priority($"default_priority_level {settings.DefaultPriorityLevel}: default priority level must be in range [1, {levels}]",
                $"give defaultPriorityLevel between 1 (highest) and {levels} (lowest)");
        var outside = settings.PriorityQueuePolicies.Keys.Where(level => level < 1 || level > levels).Order().ToList();
        if (outside.Count > 0)
            throw Priority($"priority_queue_policy for level {outside[0]}: priority queue policy must have priority level in range [1, {levels}]",
                $"key priorityQueuePolicy by levels 1..{levels}");
    }

    private static void CheckQueuePolicies(TritonSettings settings, bool batching)
    {
        var policies = settings.PriorityQueuePolicies.OrderBy(e => e.Key).Select(e => (Where: $"priority_queue_policy[{e.Key}]", Policy: e.Value)).ToList();
        if (settings.QueuePolicy is { } policy) policies.Insert(0, ("default_queue_policy", policy));
        if (policies.Count > 0 && !batching)
            throw QueuePolicy($"{policies[0].Where} on a model with max_batch_size 0: queue policies are a setting of the dynamic batcher, which ModelForge configures only for batching models",
                "serve the model with a batch dim (max_batch_size > 0), or leave the queue policy out");
        foreach (var (where, queue) in policies)
        {
            if (queue.DefaultTimeoutMicroseconds < 0)
                throw QueuePolicy($"{where}: default_timeout_microseconds {queue.DefaultTimeoutMicroseconds} is negative (the field is unsigned)",
                    "give the longest time a request may wait, in microseconds, or 0 for no timeout");
            if (queue.MaxQueueSize < 0)
                throw QueuePolicy($"{where}: max_queue_size {queue.MaxQueueSize} is negative (the field is unsigned)",
                    "give the most requests that may wait, or 0 for no limit");
            if (queue.TimeoutAction == TimeoutAction.Delay && queue.DefaultTimeoutMicroseconds == 0 && !queue.AllowTimeoutOverride)
                throw QueuePolicy($"{where}: timeout_action DELAY without a timeout (default_timeout_microseconds 0, no per-request override) never acts",
                    "give defaultTimeoutMicroseconds, allow requests their own timeout (allowTimeoutOverride), or leave timeoutAction out");
        }
    }

    /// <summary>
    /// The rate limiter keeps one count per resource name (a repeated name silently keeps the last), counts and the
    /// priority are uint32, and the server's <c>--rate-limit-resource=NAME:COUNT[:DEVICE]</c> cannot name a resource
    /// with ':' or ','.
    /// </summary>
    private static void CheckRateLimiter(TritonRateLimiter limiter)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var resource in limiter.Resources)
        {
            if (string.IsNullOrWhiteSpace(resource.Name))
                throw RateLimiter("a rate-limiter resource has no name", "name every resource, e.g. { \"name\": \"gpu_memory\", \"count\": 2 }");
            if (resource.Name.IndexOfAny([':', ',']) >= 0 || resource.Name.Any(char.IsWhiteSpace))
                throw RateLimiter($"rate-limiter resource '{resource.Name}' holds ':', ',' or a space: the server's --rate-limit-resource=NAME:COUNT cannot name it",
                    "use letters, digits, '_', '-' or '.' in resource names");
            if (!seen.Add(resource.Name))
                throw RateLimiter($"rate-limiter resource '{resource.Name}' is listed twice: Triton keeps one count per name (the last), or refuses it as both global and per-device",
                    "list each resource once");
            if (resource.Count < 1 || resource.Count > uint.MaxValue)
                throw RateLimiter($"rate-limiter resource '{resource.Name}' has count {resource.Count}: an instance needs between 1 and {uint.MaxValue} units (0 would need nothing)",
                    "give how many units one instance holds while it executes, or drop the resource");
        }
        if (limiter.Priority < 0 || limiter.Priority > uint.MaxValue)
            throw RateLimiter($"rate-limiter priority {limiter.Priority} is outside 0..{uint.MaxValue}",
                "use 1 for the default weight, 2 for half the scheduling chances, …");
    }

    private enum ParameterKind { Count, Choice, Bool, Size, Text }

    /// <summary>The model parameters the onnxruntime backend reads (onnxruntime.cc <c>ModelState</c> and <c>LoadModel</c>), with their value rule.</summary>
    private static readonly Dictionary<string, (ParameterKind Kind, string[] Choices, bool GpuOnly)> KnownParameters = new(StringComparer.Ordinal)
    {
        ["intra_op_thread_count"] = (ParameterKind.Count, [], false),
        ["inter_op_thread_count"] = (ParameterKind.Count, [], false),
        ["execution_mode"] = (ParameterKind.Choice, ["0", "1"], false),
        ["enable_mem_arena"] = (ParameterKind.Bool, [], false),
        ["enable_mem_pattern"] = (ParameterKind.Bool, [], false),
        ["memory.enable_memory_arena_shrinkage"] = (ParameterKind.Text, [], false),
        ["session.use_device_allocator_for_initializers"] = (ParameterKind.Choice, ["0", "1"], false),
        ["cudnn_conv_algo_search"] = (ParameterKind.Choice, ["0", "1", "2"], true),
        ["arena_extend_strategy"] = (ParameterKind.Choice, ["0", "1"], true),
        ["gpu_mem_limit"] = (ParameterKind.Size, [], true),
        ["do_copy_in_default_stream"] = (ParameterKind.Choice, ["0", "1"], true),
    };

    /// <summary>
    /// The user's parameters, checked, plus <c>intra_op_thread_count</c> = cores / instances (at least 1) when the cores
    /// are known and the user gave none: what the tuner measured each instance with, so instances × threads stay
    /// within the cores instead of each session taking every core.
    /// </summary>
    private static SortedDictionary<string, string> ResolveParameters(TritonSettings settings, PackageRequest request, TritonOptions options)
    {
        var parameters = new SortedDictionary<string, string>(settings.Parameters.ToDictionary(), StringComparer.Ordinal);
        if (options.Backend == TritonBackend.LibTorch) return parameters;
        if (settings.Cores is { } cores && !parameters.ContainsKey("intra_op_thread_count"))
            parameters["intra_op_thread_count"] = Tuning.OrtThroughputProbe.ThreadsPerInstance(cores, request.Batching.InstanceCount).ToString(CultureInfo.InvariantCulture);
        return parameters;
    }

    private static void CheckParameters(TritonSettings settings, TritonBackend backend, DeviceKind? device)
    {
        if (backend == TritonBackend.LibTorch && settings.Parameters.Count > 0)
            throw Parameter($"parameters ({string.Join(", ", settings.Parameters.Keys)}) with the libtorch backend: these are onnxruntime backend parameters, which the pytorch backend does not read",
                "use the onnxruntime backend, or leave parameters out");
        foreach (var (key, value) in settings.Parameters)
        {
            if (!KnownParameters.TryGetValue(key, out var rule))
                throw Parameter($"unknown parameter '{key}': the onnxruntime backend does not read it, so it would be silently ignored",
                    "use one of " + string.Join(", ", KnownParameters.Keys));
            if (rule.GpuOnly && device == DeviceKind.Cpu)
                throw Parameter($"parameter '{key}' configures the CUDA execution provider, which the backend sets up only for KIND_GPU instances: on CPU it would be ignored",
                    "package for the GPU device kind, or leave it out");
            var valid = rule.Kind switch
            {
                ParameterKind.Count => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _),
                ParameterKind.Choice => rule.Choices.Contains(value),
                ParameterKind.Bool => value.ToLowerInvariant() is "true" or "on" or "1" or "false" or "off" or "0",
                ParameterKind.Size => ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _),
                _ => value.Length > 0,
            };
            if (!valid)
                throw Parameter($"parameter '{key}' = '{value}' is not " + rule.Kind switch
                {
                    ParameterKind.Count => "a thread count: a non-negative int (0 is ONNX Runtime's default)",
                    ParameterKind.Choice => "one of " + string.Join(", ", rule.Choices),
                    ParameterKind.Bool => "a bool the backend's ParseBoolValue accepts (true/on/1, false/off/0)",
                    ParameterKind.Size => "a size in bytes",
                    _ => "set",
                }, "see docs/serving.md, \"More Triton settings\"");
        }
        if (settings.Parameters.ContainsKey("inter_op_thread_count") && settings.Parameters.GetValueOrDefault("execution_mode") != "1")
            throw Parameter("inter_op_thread_count with sequential execution (execution_mode 0, the default): ONNX Runtime ignores it",
                "set execution_mode 1 (parallel) as well, or leave inter_op_thread_count out");
        if (settings.Cores is < 1)
            throw Parameter($"{settings.Cores} cores for the instances: intra_op_thread_count = cores / instances needs at least 1", "give the serving machine's core count");
    }

    private static ModelForgeException Priority(string message, string hint) => new(DiagnosticCode.TritonPriorityInvalid, message, null, hint);
    private static ModelForgeException QueuePolicy(string message, string hint) => new(DiagnosticCode.TritonQueuePolicyInvalid, message, null, hint);
    private static ModelForgeException RateLimiter(string message, string hint) => new(DiagnosticCode.TritonRateLimiterInvalid, message, null, hint);
    private static ModelForgeException Parameter(string message, string hint) => new(DiagnosticCode.TritonBackendParameterInvalid, message, null, hint);
}
