using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Package.Triton;
using Onnx;

namespace ModelForge.Package.Tests;

[Collection(ModelsCollection.Name)]
public sealed class TritonTests(Models models) : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("modelforge-triton-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    private static readonly TensorRtAccelerator Fp16 = new()
    {
        Precision = "FP16",
        MaxWorkspaceBytes = 1L << 30,
        Parameters = new Dictionary<string, string> { ["trt_engine_cache_enable"] = "true", ["trt_engine_cache_path"] = "/tmp/trt" },
    };

    [Fact]
    public void Cpu_config_matches_golden_and_parses() =>
        Golden.Check(Parsed(TritonRepositoryWriter.Plan(Requests.ResNet(models)).ConfigText), "config.cpu.pbtxt");

    [Fact]
    public void Gpu_config_matches_golden() =>
        Golden.Check(Parsed(TritonRepositoryWriter.Plan(Requests.ResNet(models, DeviceKind.Gpu)).ConfigText), "config.gpu.pbtxt");

    [Fact]
    public void Tensorrt_config_matches_golden() =>
        Golden.Check(Parsed(TritonRepositoryWriter.Plan(Requests.ResNet(models, DeviceKind.Gpu), new TritonOptions { TensorRt = Fp16 }).ConfigText),
            "config.tensorrt.pbtxt");

    [Fact]
    public void Config_declares_what_the_model_has_without_the_batch_dim()
    {
        var config = TextProto.Parse(TritonRepositoryWriter.Plan(Requests.ResNet(models)).ConfigText);
        Assert.Equal("resnet", config.One("name"));
        Assert.Equal("onnxruntime_onnx", config.One("platform"));
        Assert.Equal("8", config.One("max_batch_size"));
        var input = Assert.Single(config.Messages("input"));
        Assert.Equal("x", input.One("name"));
        Assert.Equal("TYPE_FP32", input.One("data_type"));
        Assert.Equal([3L, 64, 64], input.Longs("dims"));
        var group = Assert.Single(config.Messages("instance_group"));
        Assert.Equal("KIND_CPU", group.One("kind"));
        Assert.Equal("2", group.One("count"));
        var batching = config.Message("dynamic_batching");
        Assert.Equal([4L, 8], batching.Longs("preferred_batch_size"));
        Assert.Equal("100", batching.One("max_queue_delay_microseconds"));
        Assert.Equal(["1", "8"], config.Messages("model_warmup").Select(w => (string)w.One("batch_size")));
        Assert.Equal("1", config.Message("version_policy").Message("latest").One("num_versions"));
    }

    [Fact]
    public void Multi_io_config_has_int64_tensors_and_a_batch_only_output_reshaped_to_a_scalar()
    {
        var config = TextProto.Parse(TritonRepositoryWriter.Plan(Requests.MultiIo(models)).ConfigText);
        var inputs = config.Messages("input");
        Assert.Equal(["x", "ids"], inputs.Select(i => (string)i.One("name")));
        Assert.Equal("TYPE_INT64", inputs[1].One("data_type"));
        Assert.Equal([6L], inputs[1].Longs("dims"));
        var outputs = config.Messages("output");
        Assert.Equal("TYPE_INT64", outputs[1].One("data_type"));
        Assert.Equal([1L], outputs[1].Longs("dims"));
        Assert.Empty(Assert.IsType<List<object>>(outputs[1].Message("reshape").One("shape")));
        Assert.Empty(config.Message("dynamic_batching").All("preferred_batch_size"));
    }

    [Fact]
    public void Written_repository_loads_in_onnx_runtime_with_the_configured_names_and_dims()
    {
        var model = TritonRepositoryWriter.Write(Requests.MultiIo(models), _out);
        Assert.Equal(Path.Combine(_out, "multi_io"), model.ModelDirectory);
        var config = TextProto.Parse(File.ReadAllText(model.ConfigPath));
        using var session = new InferenceSession(Path.Combine(model.ModelDirectory, "1", PackageLayout.OnnxFileName));
        AssertMatches(config.Messages("input"), session.InputMetadata);
        AssertMatches(config.Messages("output"), session.OutputMetadata);
        Assert.Equal(["1/model.onnx", "config.pbtxt"], Files(model.ModelDirectory).Order(StringComparer.Ordinal));
    }

    private static void AssertMatches(List<TextProto> declared, IReadOnlyDictionary<string, NodeMetadata> actual)
    {
        Assert.Equal(declared.Count, actual.Count);
        foreach (var tensor in declared)
        {
            var meta = actual[(string)tensor.One("name")];
            Assert.Equal(-1, meta.Dimensions[0]);
            var dims = tensor.All("reshape").Any() ? [] : tensor.Longs("dims");
            Assert.Equal(dims, meta.Dimensions.Skip(1).Select(d => (long)d));
        }
    }

    [Fact]
    public void Rewriting_the_same_model_gives_identical_bytes_and_replaces_the_directory()
    {
        var first = File.ReadAllBytes(TritonRepositoryWriter.Write(Requests.ResNet(models), _out).ConfigPath);
        File.WriteAllText(Path.Combine(_out, "resnet", "stale.txt"), "old");
        var second = TritonRepositoryWriter.Write(Requests.ResNet(models), _out);
        Assert.Equal(first, File.ReadAllBytes(second.ConfigPath));
        Assert.False(File.Exists(Path.Combine(_out, "resnet", "stale.txt")));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_out), e => Path.GetFileName(e).StartsWith('.'));
    }

    [Fact]
    public void Libtorch_backend_serves_the_pt_with_indexed_names()
    {
        var model = TritonRepositoryWriter.Write(Requests.MultiIo(models), _out, new TritonOptions { Backend = TritonBackend.LibTorch });
        var config = TextProto.Parse(File.ReadAllText(model.ConfigPath));
        Assert.Equal("pytorch_libtorch", config.One("platform"));
        Assert.Equal(["x__0", "ids__1"], config.Messages("input").Select(i => (string)i.One("name")));
        Assert.Equal(["output_0__0", "output_1__1"], config.Messages("output").Select(i => (string)i.One("name")));
        Assert.Equal(File.ReadAllBytes(Models.MultiIoPt), File.ReadAllBytes(Path.Combine(model.ModelDirectory, "1", "model.pt")));
    }

    // ---- engine folders ----

    private string FakeEngine(long maxBatch = 8, bool built = true)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_out, "engine-" + Guid.NewGuid().ToString("N"))).FullName;
        const string engine = "TensorrtExecutionProvider_TRTKernel_graph_main_1_0_0_fp16_sm90.engine";
        const string profile = "TensorrtExecutionProvider_TRTKernel_graph_main_1_0_0_fp16_sm90.profile";
        var ctx = ModelProto.Parser.ParseFrom(File.ReadAllBytes(models.ResNetOnnx));
        var node = new NodeProto { OpType = "EPContext", Domain = "com.microsoft", Name = "ctx" };
        node.Input.Add("x");
        node.Output.AddRange(ctx.Graph.Output.Select(o => o.Name));
        node.Attribute.Add(new AttributeProto { Name = "embed_mode", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        node.Attribute.Add(new AttributeProto { Name = "ep_cache_context", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(engine) });
        ctx.Graph.Node.Clear();
        ctx.Graph.Initializer.Clear();
        ctx.Graph.Node.Add(node);
        File.WriteAllBytes(Path.Combine(directory, "resnet_ctx.onnx"), ctx.ToByteArray());
        File.WriteAllText(Path.Combine(directory, engine), "engine bytes");
        File.WriteAllText(Path.Combine(directory, profile), "profile bytes");
        new EngineManifest
        {
            Status = built ? EngineBuildStatus.Built : EngineBuildStatus.Skipped,
            Reason = built ? null : "libnvinfer.so.10 not found",
            ToolVersion = "0.1.0",
            OnnxRuntimeVersion = "1.31.0",
            TensorRtVersion = "10.14.1",
            CudaVersion = "13.0",
            Gpu = new GpuInfo("NVIDIA H100 80GB HBM3", "9.0"),
            OnnxFileName = "resnet.onnx",
            OnnxSha256 = new string('a', 64),
            CacheKey = new string('b', 64),
            Precision = "fp16",
            ProviderOptions = new Dictionary<string, string> { ["trt_max_workspace_size"] = "1073741824" },
            SessionOptions = new Dictionary<string, string>(),
            Profiles = [new ShapeProfile("x", [1, 3, 64, 64], [maxBatch, 3, 64, 64], [maxBatch, 3, 64, 64])],
            CtxModel = built ? "resnet_ctx.onnx" : null,
            Files =
            [
                new EngineFile(EngineFile.EngineRole, engine, new string('1', 64), 12),
                new EngineFile(EngineFile.ProfileRole, profile, new string('2', 64), 13),
                new EngineFile(EngineFile.CtxModelRole, "resnet_ctx.onnx", new string('3', 64), 100),
            ],
            CreatedAt = Requests.Time,
        }.WriteTo(Path.Combine(directory, EngineLayout.ManifestFileName));
        return directory;
    }

    [Fact]
    public void Engine_folder_config_matches_golden_and_ships_the_ctx_model_with_its_engine()
    {
        var request = Requests.ResNet(models, DeviceKind.Gpu) with { EngineDirectory = FakeEngine() };
        var plan = TritonRepositoryWriter.Plan(request);
        Golden.Check(Parsed(plan.ConfigText), "config.engine.pbtxt");
        Assert.Contains("TensorRT 10.14.1", plan.EngineBinding);
        var model = TritonRepositoryWriter.Write(request, _out);
        Assert.Equal(
            ["1/TensorrtExecutionProvider_TRTKernel_graph_main_1_0_0_fp16_sm90.engine", "1/TensorrtExecutionProvider_TRTKernel_graph_main_1_0_0_fp16_sm90.profile", "1/model.onnx", "config.pbtxt"],
            Files(model.ModelDirectory).Order(StringComparer.Ordinal));
        Assert.Equal("EPContext", ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(model.ModelDirectory, "1", "model.onnx"))).Graph.Node.Single().OpType);
    }

    [Fact]
    public void Engine_whose_profile_stops_below_max_batch_size_is_refused() =>
        Rules.Fails(DiagnosticCode.PackageEngineUnusable, "covers batch 1..4, but Triton forms batches 1..8",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models, DeviceKind.Gpu) with { EngineDirectory = FakeEngine(maxBatch: 4) }));

    [Fact]
    public void Engine_that_was_not_built_is_refused() =>
        Rules.Fails(DiagnosticCode.PackageEngineUnusable, "holds no built engine (libnvinfer.so.10 not found)",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models, DeviceKind.Gpu) with { EngineDirectory = FakeEngine(built: false) }));

    [Fact]
    public void Engine_with_cpu_instances_is_refused() =>
        Rules.Fails(DiagnosticCode.PackageEngineUnusable, "a TensorRT engine runs only on KIND_GPU instances",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { EngineDirectory = FakeEngine() }));

    [Fact]
    public void Engine_with_the_libtorch_backend_is_refused() =>
        Rules.Fails(DiagnosticCode.TritonAcceleratorInvalid, "exists only in the onnxruntime backend",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models, DeviceKind.Gpu) with { EngineDirectory = FakeEngine() }, new TritonOptions { Backend = TritonBackend.LibTorch }));

    // ---- batching rules (ValidateModelConfig / NormalizeInstanceGroup) ----

    [Theory]
    [InlineData(-1, new int[0], 0, 1, "'max_batch_size' must be non-negative")]
    [InlineData(8, new[] { 0 }, 0, 1, "dynamic batching preferred size must be positive")]
    [InlineData(8, new[] { 16 }, 0, 1, "dynamic batching preferred size must be <= max batch size")]
    [InlineData(0, new[] { 1 }, 0, 1, "dynamic batching preferred size must be <= max batch size")]
    [InlineData(8, new[] { 4, 4 }, 0, 1, "each preferred batch size must be listed once")]
    [InlineData(8, new int[0], -5, 1, "the queue delay must be non-negative")]
    [InlineData(8, new int[0], 0, 0, "an instance group needs a count of at least 1")]
    public void Batching_rules(int max, int[] preferred, int delay, int instances, string rule) =>
        Rules.Fails(DiagnosticCode.BatchingConfigInvalid, rule,
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { Batching = new BatchingConfig(max, preferred, delay, instances) }));

    [Fact]
    public void Model_name_must_be_one_directory_name() =>
        Rules.Fails(DiagnosticCode.BundleNameInvalid, "the directory name must equal the model name",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { ModelName = "a/b" }));

    [Fact]
    public void Version_must_not_be_negative() =>
        Rules.Fails(DiagnosticCode.BundleNameInvalid, "a version directory must be a non-negative number",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { Version = -1 }));

    // ---- the onnxruntime backend's checks against the ONNX model ----

    [Fact]
    public void Input_count_must_match_the_model() =>
        Rules.Fails(DiagnosticCode.TritonModelMismatch, "configuration expects 1 inputs, model provides 2",
            () => TritonRepositoryWriter.Plan(Requests.MultiIo(models) with { Inputs = [Models.MultiIoInputs[0]] }));

    [Fact]
    public void Input_names_must_exist_in_the_model() =>
        Rules.Fails(DiagnosticCode.TritonModelMismatch, "unexpected inference input 'input', allowed inputs are: x",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { Inputs = [InputSpec.Parse("input:float32[batch,3,64,64]")] }));

    [Fact]
    public void Input_types_must_match_the_model() =>
        Rules.Fails(DiagnosticCode.TritonModelMismatch, "configuration expects datatype TYPE_INT32 for input 'ids', model provides TYPE_INT64",
            () => TritonRepositoryWriter.Plan(Requests.MultiIo(models) with { Inputs = [Models.MultiIoInputs[0], InputSpec.Parse("ids:int32[batch,6]")] }));

    [Fact]
    public void Input_ranks_must_match_the_model() =>
        Rules.Fails(DiagnosticCode.TritonModelMismatch, "the model expects 4 dimensions",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { Inputs = [InputSpec.Parse("x:float32[batch,3,64]")] }));

    [Fact]
    public void Fixed_model_dims_must_be_configured_as_they_are() =>
        Rules.Fails(DiagnosticCode.TritonModelMismatch, "where the ONNX dim is fixed the configured dim must equal it",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { Inputs = [InputSpec.Parse("x:float32[batch,3,32,64]")] }));

    [Fact]
    public void Dims_must_be_positive() =>
        Rules.Fails(DiagnosticCode.TritonConfigInvalid, "dimension must be integer >= 1, or -1",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { Inputs = [InputSpec.Parse("x:float32[batch,0,64,64]")] }));

    [Fact]
    public void Batching_needs_a_dynamic_first_dim_in_the_model()
    {
        var fixedBatch = models.Convert(Models.ResNetPt, [InputSpec.Parse("x:float32[2,3,64,64]")], "resnet_fixed_batch");
        Rules.Fails(DiagnosticCode.TritonModelMismatch, "the first dimension must be -1",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { OnnxPath = fixedBatch, Inputs = [InputSpec.Parse("x:float32[2,3,64,64]")] }));
    }

    [Fact]
    public void Batching_needs_a_symbolic_first_declared_dim() =>
        Rules.Fails(DiagnosticCode.TritonModelMismatch, "the first dimension is the batch dim and must be -1",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { Inputs = [InputSpec.Parse("x:float32[4,3,64,64]")] }));

    [Fact]
    public void Output_names_must_exist_in_the_model() =>
        Rules.Fails(DiagnosticCode.TritonModelMismatch, "unexpected inference output 'logits'",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { OutputNames = ["logits"] }));

    [Fact]
    public void A_subset_of_outputs_is_allowed()
    {
        var config = TextProto.Parse(TritonRepositoryWriter.Plan(Requests.MultiIo(models) with { OutputNames = ["output_1"] }).ConfigText);
        Assert.Equal("output_1", Assert.Single(config.Messages("output")).One("name"));
    }

    [Fact]
    public void Declared_names_must_be_unique() =>
        Rules.Fails(DiagnosticCode.TritonConfigInvalid, "input names must be unique",
            () => TritonRepositoryWriter.Plan(Requests.MultiIo(models) with { Inputs = [Models.MultiIoInputs[0], Models.MultiIoInputs[0]] }));

    [Fact]
    public void Scalars_need_batching()
    {
        var request = Requests.MultiIo(models) with { Batching = new BatchingConfig(0, [], 0, 1), Inputs = [InputSpec.Parse("x:float32[2,4]"), InputSpec.Parse("ids:int64[2,6]")] };
        var scalarOutput = models.Mutate(models.MultiIoOnnx, "multi_io_scalar", m =>
        {
            foreach (var input in m.Graph.Input) input.Type.TensorType.Shape.Dim[0].DimValue = 2;
            m.Graph.Output[1].Type.TensorType.Shape.Dim.Clear();
        });
        Rules.Fails(DiagnosticCode.TritonConfigInvalid, "scalar tensors are not supported", () => TritonRepositoryWriter.Plan(request with { OnnxPath = scalarOutput }));
    }

    [Fact]
    public void Element_types_need_a_triton_type()
    {
        var complex = models.Mutate(models.ResNetOnnx, "resnet_complex", m => m.Graph.Output[0].Type.TensorType.ElemType = 14);
        Rules.Fails(DiagnosticCode.TritonConfigInvalid, "has no Triton TYPE_*", () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { OnnxPath = complex }));
    }

    [Fact]
    public void Warmup_needs_sizes_for_dynamic_dims()
    {
        var dynamic = models.Mutate(models.ResNetOnnx, "resnet_dynamic_hw", m => m.Graph.Input[0].Type.TensorType.Shape.Dim[2].DimParam = "h");
        var request = Requests.ResNet(models) with { OnnxPath = dynamic, Inputs = [InputSpec.Parse("x:float32[batch,3,h,64]")] };
        Rules.Fails(DiagnosticCode.TritonConfigInvalid, "warmup setting expects all variable-size dimensions are specified for input 'x'",
            () => TritonRepositoryWriter.Plan(request));
        var config = TextProto.Parse(TritonRepositoryWriter.Plan(request, new TritonOptions { WarmupDimSizes = new Dictionary<string, long> { ["h"] = 64 } }).ConfigText);
        Assert.Equal([3L, -1, 64], Assert.Single(config.Messages("input")).Longs("dims"));
        Assert.Equal([3L, 64, 64], config.Messages("model_warmup")[0].Message("inputs").Message("value").Longs("dims"));
    }

    [Fact]
    public void Libtorch_needs_the_torchscript_file() =>
        Rules.Fails(DiagnosticCode.TritonConfigInvalid, "platform pytorch_libtorch loads model.pt",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { TorchScriptPath = null }, new TritonOptions { Backend = TritonBackend.LibTorch }));

    [Fact]
    public void Missing_onnx_model_is_reported() =>
        Rules.Fails(DiagnosticCode.PackageFileMissing, "does not exist",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { OnnxPath = Path.Combine(_out, "none.onnx") }));

    [Fact]
    public void Unreadable_onnx_model_is_reported()
    {
        var path = Path.Combine(_out, "text.onnx");
        File.WriteAllText(path, "not a model");
        Rules.Fails(DiagnosticCode.PackageOnnxUnreadable, "is not a readable ONNX model", () => TritonRepositoryWriter.Plan(Requests.ResNet(models) with { OnnxPath = path }));
    }

    // ---- execution accelerator rules ----

    [Fact]
    public void Tensorrt_on_cpu_instances_is_refused() =>
        Rules.Fails(DiagnosticCode.TritonAcceleratorInvalid, "gpu_execution_accelerator is read only for GPU instances",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models), new TritonOptions { TensorRt = Fp16 }));

    [Fact]
    public void Tensorrt_with_libtorch_is_refused() =>
        Rules.Fails(DiagnosticCode.TritonAcceleratorInvalid, "execution accelerators are an onnxruntime backend option",
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models, DeviceKind.Gpu), new TritonOptions { TensorRt = Fp16, Backend = TritonBackend.LibTorch }));

    [Theory]
    [InlineData("fp16", null, null, "unsupported precision mode 'fp16' is requested")]
    [InlineData("FP16", "trt_unknown", "1", "unknown parameter 'trt_unknown' is provided for TensorRT Execution Accelerator")]
    [InlineData("FP16", "trt_engine_cache_enable", "yes", "is not a bool the backend's ParseBoolValue accepts")]
    [InlineData("FP16", "trt_min_subgraph_size", "many", "is not an int")]
    [InlineData("FP16", "trt_engine_cache_path", "", "the backend drops empty values")]
    [InlineData("FP16", "precision_mode", "FP16", "it is set through the accelerator's own property")]
    public void Accelerator_parameter_rules(string precision, string? key, string? value, string rule)
    {
        var parameters = key is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [key] = value! };
        Rules.Fails(DiagnosticCode.TritonAcceleratorInvalid, rule,
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models, DeviceKind.Gpu), new TritonOptions { TensorRt = new TensorRtAccelerator { Precision = precision, Parameters = parameters } }));
    }

    private static string Parsed(string config)
    {
        TextProto.Parse(config);
        return config;
    }

    private static List<string> Files(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/')).ToList();
}
