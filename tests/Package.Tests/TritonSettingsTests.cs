using System.Runtime.InteropServices;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Model.Tensors;
using ModelForge.Package.Triton;
using Onnx;

namespace ModelForge.Package.Tests;

/// <summary>
/// The serving settings of docs/serving.md "More Triton settings": each one's config.pbtxt (golden), and each rule the
/// server applies to it, checked before anything is written (MF4080–MF4085).
/// </summary>
[Collection(ModelsCollection.Name)]
public sealed class TritonSettingsTests(Models models) : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("modelforge-triton-settings-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    private static readonly TritonQueuePolicy DelayPolicy = new()
    {
        TimeoutAction = TimeoutAction.Delay, DefaultTimeoutMicroseconds = 5000, AllowTimeoutOverride = true, MaxQueueSize = 64,
    };

    private static TritonOptions With(TritonSettings settings) => new() { Settings = settings };

    private string Config(TritonSettings settings, PackageRequest? request = null) =>
        Parsed(TritonRepositoryWriter.Plan(request ?? Requests.ResNet(models), With(settings)).ConfigText);

    // Golden configs, one per setting.

    [Fact]
    public void Response_cache_config_matches_golden() =>
        Golden.Check(Config(new TritonSettings { ResponseCache = true }), "config.response-cache.pbtxt");

    [Fact]
    public void Priorities_config_matches_golden() =>
        Golden.Check(Config(new TritonSettings
        {
            PriorityLevels = 3,
            DefaultPriorityLevel = 2,
            PriorityQueuePolicies = new Dictionary<long, TritonQueuePolicy> { [3] = new() { MaxQueueSize = 16 }, [1] = DelayPolicy },
        }), "config.priorities.pbtxt");

    [Fact]
    public void Queue_policy_config_matches_golden() =>
        Golden.Check(Config(new TritonSettings { QueuePolicy = DelayPolicy }), "config.queue-policy.pbtxt");

    [Fact]
    public void Rate_limiter_config_matches_golden() =>
        Golden.Check(Config(new TritonSettings
        {
            RateLimiter = new TritonRateLimiter { Resources = [new("cpu_slots", 2), new("shared_memory", 4, Global: true)], Priority = 2 },
        }), "config.rate-limiter.pbtxt");

    [Fact]
    public void Parameters_config_matches_golden() =>
        Golden.Check(Config(new TritonSettings
        {
            Cores = 8,
            Parameters = new Dictionary<string, string> { ["execution_mode"] = "1", ["inter_op_thread_count"] = "2", ["enable_mem_arena"] = "false" },
        }), "config.parameters.pbtxt");

    [Fact]
    public void Warmup_sample_config_matches_golden() =>
        Golden.Check(Config(new TritonSettings { WarmupSample = MultiIoSample() }, Requests.MultiIo(models)), "config.warmup-sample.pbtxt");

    // What each setting writes, read back.

    [Theory]
    [InlineData(8, 2, 4)]
    [InlineData(8, 3, 2)]
    [InlineData(2, 4, 1)]
    [InlineData(1, 1, 1)]
    public void Intra_op_threads_are_the_cores_divided_by_the_instances_at_least_one(int cores, int instances, int threads)
    {
        var request = Requests.ResNet(models) with { Batching = Requests.Batching with { InstanceCount = instances } };
        var config = TextProto.Parse(Config(new TritonSettings { Cores = cores }, request));
        Assert.Equal(threads.ToString(System.Globalization.CultureInfo.InvariantCulture), Parameter(config, "intra_op_thread_count"));
    }

    [Fact]
    public void A_users_thread_count_overrides_the_derived_one_and_without_cores_none_is_written()
    {
        var config = TextProto.Parse(Config(new TritonSettings { Cores = 8, Parameters = new Dictionary<string, string> { ["intra_op_thread_count"] = "3" } }));
        Assert.Equal("3", Parameter(config, "intra_op_thread_count"));
        Assert.Empty(TextProto.Parse(Config(new TritonSettings())).All("parameters"));
    }

    [Fact]
    public void The_libtorch_backend_gets_no_onnxruntime_parameters()
    {
        var plan = TritonRepositoryWriter.Plan(Requests.ResNet(models), new TritonOptions { Backend = TritonBackend.LibTorch, Settings = new TritonSettings { Cores = 8 } });
        Assert.Empty(TextProto.Parse(plan.ConfigText).All("parameters"));
    }

    [Fact]
    public void Warmup_files_hold_the_first_sample_as_raw_little_endian_bytes_under_the_models_warmup_folder()
    {
        var sample = MultiIoSample();
        var model = TritonRepositoryWriter.Write(Requests.MultiIo(models), _out, With(new TritonSettings { WarmupSample = sample }));

        var x = File.ReadAllBytes(Path.Combine(model.ModelDirectory, "warmup", "v1", "0_x.raw"));
        var ids = File.ReadAllBytes(Path.Combine(model.ModelDirectory, "warmup", "v1", "1_ids.raw"));
        Assert.Equal([0.5f, -1.25f, 3f, 1e-3f], MemoryMarshal.Cast<byte, float>(x).ToArray());
        Assert.Equal([1L, 2, 3, 4, 5, long.MaxValue], MemoryMarshal.Cast<byte, long>(ids).ToArray());
        Assert.Equal(BitConverter.GetBytes(0.5f), x[..4]);

        var config = TextProto.Parse(File.ReadAllText(model.ConfigPath));
        var warmups = config.Messages("model_warmup");
        Assert.Equal(["sample_batch_1", "sample_batch_16"], warmups.Select(w => (string)w.One("name")));
        foreach (var warmup in warmups)
        {
            var inputs = warmup.Messages("inputs").ToDictionary(i => (string)i.One("key"), i => i.Message("value"));
            Assert.Equal("v1/0_x.raw", inputs["x"].One("input_data_file"));
            Assert.Equal([4L], inputs["x"].Longs("dims"));
            Assert.Equal("v1/1_ids.raw", inputs["ids"].One("input_data_file"));
            Assert.Equal("TYPE_INT64", inputs["ids"].One("data_type"));
            Assert.Empty(inputs["x"].All("zero_data"));
        }
    }

    [Fact]
    public void A_repository_keeps_each_versions_warmup_data_apart()
    {
        var repository = Path.Combine(_out, "repo");
        var options = With(new TritonSettings { WarmupSample = MultiIoSample() });
        TritonRepositoryVersions.Add(Requests.MultiIo(models), repository, options);
        var second = TritonRepositoryVersions.Add(Requests.MultiIo(models), repository, options);

        Assert.Equal(2, second.Version);
        var warmup = Path.Combine(second.Model.ModelDirectory, "warmup");
        Assert.Equal(["v1", "v2"], Directory.GetDirectories(warmup).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("input_data_file: \"v2/0_x.raw\"", File.ReadAllText(second.Model.ConfigPath), StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(Path.Combine(warmup, "v1", "0_x.raw")), File.ReadAllBytes(Path.Combine(warmup, "v2", "0_x.raw")));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(warmup), e => Path.GetFileName(e).StartsWith('.'));
    }

    [Fact]
    public void The_response_cache_on_a_model_that_draws_random_numbers_is_a_warning()
    {
        var random = models.Mutate(models.ResNetOnnx, "resnet_random", m => m.Graph.Node.Add(new NodeProto
        {
            OpType = "RandomUniformLike", Input = { m.Graph.Input[0].Name }, Output = { "noise" }, Name = "noise",
        }));
        var request = Requests.ResNet(models) with { OnnxPath = random };
        var warning = Assert.Single(TritonRepositoryWriter.Plan(request, With(new TritonSettings { ResponseCache = true })).Warnings);
        Assert.Equal(DiagnosticCode.TritonResponseCacheNondeterministic, warning.Code);
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Contains("RandomUniformLike", warning.Message, StringComparison.Ordinal);
        Assert.Empty(TritonRepositoryWriter.Plan(request).Warnings);
        Assert.Empty(TritonRepositoryWriter.Plan(Requests.ResNet(models), With(new TritonSettings { ResponseCache = true })).Warnings);
    }

    // The rules: each a diagnostic with a hint, and nothing written.

    public static TheoryData<string, string> PriorityCases => new()
    {
        { "levels -1", "neither may be negative" },
        { "levels 3 default 0", "default priority level must be in range [1, 3]" },
        { "levels 3 default 4", "default priority level must be in range [1, 3]" },
        { "default 2", "without priority_levels" },
        { "policy 1", "without priority_levels" },
        { "levels 2 default 1 policy 3", "priority queue policy must have priority level in range [1, 2]" },
        { "levels 2 default 1 policy 0", "priority queue policy must have priority level in range [1, 2]" },
    };

    [Theory]
    [MemberData(nameof(PriorityCases))]
    public void Priorities_follow_tritons_ranges(string settings, string rule)
    {
        var words = settings.Split(' ');
        long Value(string key) => Array.IndexOf(words, key) is var i and >= 0 ? long.Parse(words[i + 1], System.Globalization.CultureInfo.InvariantCulture) : 0;
        var policies = Array.IndexOf(words, "policy") >= 0 ? new Dictionary<long, TritonQueuePolicy> { [Value("policy")] = new() } : [];
        RefusedAndNothingWritten(DiagnosticCode.TritonPriorityInvalid, rule,
            new TritonSettings { PriorityLevels = Value("levels"), DefaultPriorityLevel = Value("default"), PriorityQueuePolicies = policies });
    }

    [Fact]
    public void Priorities_and_queue_policies_need_the_dynamic_batcher()
    {
        var unbatched = Requests.ResNet(models) with { Batching = new BatchingConfig(0, [], 0, 1) };
        Rules.Fails(DiagnosticCode.TritonPriorityInvalid, "max_batch_size 0",
            () => TritonRepositoryWriter.Plan(unbatched, With(new TritonSettings { PriorityLevels = 2, DefaultPriorityLevel = 1 })));
        Rules.Fails(DiagnosticCode.TritonQueuePolicyInvalid, "max_batch_size 0",
            () => TritonRepositoryWriter.Plan(unbatched, With(new TritonSettings { QueuePolicy = new() })));
    }

    [Theory]
    [InlineData(-1L, 0L, TimeoutAction.Reject, false, "default_timeout_microseconds -1 is negative")]
    [InlineData(0L, -5L, TimeoutAction.Reject, false, "max_queue_size -5 is negative")]
    [InlineData(0L, 0L, TimeoutAction.Delay, false, "timeout_action DELAY without a timeout")]
    public void Queue_policies_follow_tritons_rules(long timeout, long maxQueue, TimeoutAction action, bool overridable, string rule)
    {
        var policy = new TritonQueuePolicy { DefaultTimeoutMicroseconds = timeout, MaxQueueSize = maxQueue, TimeoutAction = action, AllowTimeoutOverride = overridable };
        RefusedAndNothingWritten(DiagnosticCode.TritonQueuePolicyInvalid, "default_queue_policy: " + rule, new TritonSettings { QueuePolicy = policy });
        RefusedAndNothingWritten(DiagnosticCode.TritonQueuePolicyInvalid, "priority_queue_policy[2]: " + rule, new TritonSettings
        {
            PriorityLevels = 2, DefaultPriorityLevel = 1, PriorityQueuePolicies = new Dictionary<long, TritonQueuePolicy> { [2] = policy },
        });
    }

    [Fact]
    public void Delay_with_only_per_request_timeouts_is_accepted() =>
        Assert.Contains("timeout_action: DELAY", Config(new TritonSettings { QueuePolicy = new() { TimeoutAction = TimeoutAction.Delay, AllowTimeoutOverride = true } }),
            StringComparison.Ordinal);

    public static TheoryData<TritonRateLimiter, string> RateLimiterCases => new()
    {
        { new() { Resources = [new(" ", 1)] }, "has no name" },
        { new() { Resources = [new("gpu:0", 1)] }, "--rate-limit-resource=NAME:COUNT cannot name it" },
        { new() { Resources = [new("r", 1), new("r", 2, Global: true)] }, "'r' is listed twice" },
        { new() { Resources = [new("r", 0)] }, "has count 0" },
        { new() { Resources = [new("r", 1L << 32)] }, "has count 4294967296" },
        { new() { Priority = -1 }, "priority -1 is outside" },
    };

    [Theory]
    [MemberData(nameof(RateLimiterCases))]
    public void Rate_limiter_resources_follow_tritons_rules(TritonRateLimiter limiter, string rule) =>
        RefusedAndNothingWritten(DiagnosticCode.TritonRateLimiterInvalid, rule, new TritonSettings { RateLimiter = limiter });

    public static TheoryData<string, string, string> ParameterCases => new()
    {
        { "intra_op_threads", "4", "unknown parameter 'intra_op_threads'" },
        { "intra_op_thread_count", "four", "is not a thread count" },
        { "intra_op_thread_count", "-2", "is not a thread count" },
        { "execution_mode", "2", "is not one of 0, 1" },
        { "enable_mem_arena", "yes", "is not a bool" },
        { "cudnn_conv_algo_search", "1", "only for KIND_GPU instances" },
        { "inter_op_thread_count", "2", "inter_op_thread_count with sequential execution" },
    };

    [Theory]
    [MemberData(nameof(ParameterCases))]
    public void Backend_parameters_follow_the_onnxruntime_backends_rules(string key, string value, string rule) =>
        RefusedAndNothingWritten(DiagnosticCode.TritonBackendParameterInvalid, rule,
            new TritonSettings { Parameters = new Dictionary<string, string> { [key] = value } });

    [Fact]
    public void Backend_parameters_are_refused_for_libtorch_and_cores_must_be_positive()
    {
        Rules.Fails(DiagnosticCode.TritonBackendParameterInvalid, "with the libtorch backend", () => TritonRepositoryWriter.Plan(Requests.ResNet(models),
            new TritonOptions { Backend = TritonBackend.LibTorch, Settings = new TritonSettings { Parameters = new Dictionary<string, string> { ["execution_mode"] = "1" } } }));
        RefusedAndNothingWritten(DiagnosticCode.TritonBackendParameterInvalid, "0 cores", new TritonSettings { Cores = 0 });
    }

    public static TheoryData<string, string> WarmupCases => new()
    {
        { "missing ids", "has no array 'ids'" },
        { "extra y", "holds array 'y', which is no input" },
        { "x as int64", "warm-up array 'x' is int64, but input 'x' is float32" },
        { "x without batch", "the ranks differ" },
        { "x with 5 features", "dim 1 must be 4" },
        { "no samples", "holds no sample" },
    };

    [Theory]
    [MemberData(nameof(WarmupCases))]
    public void A_warmup_sample_must_fit_the_models_inputs(string change, string rule)
    {
        var arrays = new Dictionary<string, HostTensor>
        {
            ["x"] = HostTensor.FromFloats(new float[8], 2, 4),
            ["ids"] = HostTensor.FromInt64s(new long[12], 2, 6),
        };
        switch (change)
        {
            case "missing ids": arrays.Remove("ids"); break;
            case "extra y": arrays["y"] = HostTensor.FromFloats([1f], 1); break;
            case "x as int64": arrays["x"] = HostTensor.FromInt64s(new long[8], 2, 4); break;
            case "x without batch": arrays["x"] = HostTensor.FromFloats(new float[4], 4); break;
            case "x with 5 features": arrays["x"] = HostTensor.FromFloats(new float[10], 2, 5); break;
            case "no samples": arrays["x"] = HostTensor.FromFloats([], 0, 4); arrays["ids"] = HostTensor.FromInt64s([], 0, 6); break;
        }
        var path = Path.Combine(_out, "sample.npz");
        Npz.Write(path, arrays);
        var e = RefusedAndNothingWritten(DiagnosticCode.TritonWarmupSampleInvalid, rule, new TritonSettings { WarmupSample = path }, Requests.MultiIo(models));
        Assert.Equal(path, e.Diagnostics[0].Location!.File);
    }

    [Fact]
    public void A_warmup_sample_with_warmup_off_is_refused() =>
        Rules.Fails(DiagnosticCode.TritonWarmupSampleInvalid, "warm-up turned off", () => TritonRepositoryWriter.Plan(Requests.MultiIo(models),
            new TritonOptions { Warmup = false, Settings = new TritonSettings { WarmupSample = MultiIoSample() } }));

    private ModelForgeException RefusedAndNothingWritten(DiagnosticCode code, string rule, TritonSettings settings, PackageRequest? request = null)
    {
        var repository = Path.Combine(_out, "refused");
        var e = Rules.Fails(code, rule, () => TritonRepositoryWriter.Write(request ?? Requests.ResNet(models), repository, With(settings)));
        Assert.False(Directory.Exists(repository));
        return e;
    }

    /// <summary>A two-sample .npz for multi_io: the first sample is what warm-up sends.</summary>
    private string MultiIoSample()
    {
        var path = Path.Combine(_out, "multi_io_sample.npz");
        Npz.Write(path, new Dictionary<string, HostTensor>
        {
            ["x"] = HostTensor.FromFloats([0.5f, -1.25f, 3f, 1e-3f, 9f, 9f, 9f, 9f], 2, 4),
            ["ids"] = HostTensor.FromInt64s([1, 2, 3, 4, 5, long.MaxValue, 7, 7, 7, 7, 7, 7], 2, 6),
        });
        return path;
    }

    private static string Parameter(TextProto config, string key) =>
        (string)config.Messages("parameters").Single(p => (string)p.One("key") == key).Message("value").One("string_value");

    private static string Parsed(string config)
    {
        TextProto.Parse(config);
        return config;
    }
}
