using System.Globalization;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.IO;

namespace ModelForge.Package.Triton;

/// <summary>
/// Writes one model into a Triton model repository: <c>&lt;repo&gt;/&lt;name&gt;/config.pbtxt</c> and
/// <c>&lt;repo&gt;/&lt;name&gt;/&lt;version&gt;/model.onnx</c> (or <c>model.pt</c> for libtorch; with an engine folder the
/// EP-context model as <c>model.onnx</c> plus its engine files; a model written with external data brings its data file,
/// under the name the model records). Every rule Triton applies when it loads the model
/// (serving.md §2.1–2.5, including the onnxruntime backend's checks against the ONNX graph) is checked first and
/// reported as an MF4xxx diagnostic that names the rule.
/// </summary>
public static class TritonRepositoryWriter
{
    public const string ConfigFileName = "config.pbtxt";
    public const string TorchScriptFileName = "model.pt";

    /// <summary>The first line of every config ModelForge writes: how a repository's config is known to be its own.</summary>
    internal const string ConfigHeader = "Triton model configuration written by ModelForge; checked against the server's load-time rules.";

    /// <summary>Checks the request against Triton's rules and builds the configuration, without writing anything.</summary>
    public static TritonModelPlan Plan(PackageRequest request, TritonOptions? options = null) => Plan(request, options, []);

    /// <param name="otherVersions">The versions already in the model's folder, which the version policy may select besides this one.</param>
    internal static TritonModelPlan Plan(PackageRequest request, TritonOptions? options, IReadOnlyCollection<long> otherVersions)
    {
        options ??= new TritonOptions();
        PackageChecks.Batching(request.Batching);
        CheckNames(request);
        CheckVersionPolicy(options.VersionPolicy, otherVersions.Append(request.Version));
        var batching = request.Batching.MaxBatchSize > 0;

        EngineBinding? engine = null;
        var accelerator = options.TensorRt;
        if (request.EngineDirectory is { } engineDirectory)
        {
            if (options.Backend == TritonBackend.LibTorch)
                throw Accelerator("an engine folder with the libtorch backend: the TensorRT execution accelerator exists only in the onnxruntime backend",
                    "package the engine with the onnxruntime backend, or leave the engine out for libtorch");
            if (request.Device != DeviceKind.Gpu)
                throw new ModelForgeException(DiagnosticCode.PackageEngineUnusable,
                    $"engine folder '{engineDirectory}' with CPU instances: a TensorRT engine runs only on KIND_GPU instances", new SourceLocation(engineDirectory),
                    "package with the GPU device kind, or leave the engine out");
            engine = EngineBinding.Load(engineDirectory);
            accelerator = (accelerator ?? new TensorRtAccelerator()) with { Precision = engine.Precision, MaxWorkspaceBytes = engine.WorkspaceBytes };
        }
        if (accelerator is not null) CheckAccelerator(accelerator, request, options);

        var onnxPath = engine?.CtxModelPath ?? request.OnnxPath;
        var signature = OnnxSignature.Read(onnxPath);
        var inputs = Inputs(request, signature, batching);
        var outputs = Outputs(request, signature, batching);
        var modelFiles = Labels(options.OutputLabels, outputs);
        if (engine is not null && batching) CheckEngineBatch(engine, request);

        var versionFiles = new List<BundleFile>();
        if (options.Backend == TritonBackend.LibTorch)
        {
            var pt = request.TorchScriptPath
                ?? throw Config("the libtorch backend without a TorchScript file: platform pytorch_libtorch loads model.pt",
                    "give the source .pt (PackageRequest.TorchScriptPath), or use the onnxruntime backend");
            versionFiles.Add(new BundleFile(PackageChecks.RequireFile(pt, "TorchScript model", "pass the .pt the ONNX model was converted from"), TorchScriptFileName));
            inputs = inputs.Select((t, i) => t with { Name = $"{t.Name}__{i}" }).ToList();
            outputs = outputs.Select((t, i) => t with { Name = $"{t.Name}__{i}" }).ToList();
        }
        else
        {
            versionFiles.Add(new BundleFile(onnxPath, PackageLayout.OnnxFileName));
            // The model is renamed model.onnx, but its data file keeps the name the model's location field records.
            versionFiles.AddRange(signature.ExternalData);
            if (engine is not null)
                versionFiles.AddRange(engine.FileNames.Select(name => new BundleFile(Path.Combine(engine.Directory, name), name)));
        }

        var settings = TritonSettingsPlan.Check(request, options, signature, inputs);
        var warmups = !options.Warmup ? [] : settings.Sample?.Warmups(request.Batching) ?? Warmups(request, inputs, options);
        var text = Emit(request, options, inputs, outputs, accelerator, warmups, engine, settings);
        return new TritonModelPlan(request.ModelName, request.Version, text, inputs, outputs, versionFiles, engine?.Describe())
        {
            ModelFiles = [.. settings.Sample?.ModelFiles ?? [], .. modelFiles],
            Warnings = settings.Warnings,
        };
    }

    /// <summary>Sets each labelled output's <c>label_filename</c> (the file's own name, which must stay inside the model folder) and lists the files to copy.</summary>
    private static List<TritonModelFile> Labels(IReadOnlyDictionary<string, string> labels, List<TritonTensor> outputs)
    {
        var files = new List<TritonModelFile>();
        foreach (var (output, path) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            var index = outputs.FindIndex(o => o.Name == output);
            if (index < 0)
                throw Config($"a label file is given for output '{output}', which the model does not serve", "label one of the outputs: " + string.Join(", ", outputs.Select(o => o.Name)));
            var name = Path.GetFileName(PackageChecks.RequireFile(path, "label file", "pass a text file with one label per class"));
            if (name == ConfigFileName || name.All(char.IsAsciiDigit) || files.Any(f => f.RelativePath == name))
                throw Config($"label file name '{name}' would collide with the config, a version folder or another label file in the model folder", "rename the label file, e.g. labels.txt");
            outputs[index] = outputs[index] with { LabelFileName = name };
            files.Add(new TritonModelFile(name, File.ReadAllBytes(path)));
        }
        return files;
    }

    /// <summary>
    /// Checks, then writes the model directory under <paramref name="repositoryRoot"/> (created if missing). The model
    /// directory is staged and renamed into place, so a polling server never sees it half-written; other models in the
    /// repository are left alone.
    /// </summary>
    public static TritonModel Write(PackageRequest request, string repositoryRoot, TritonOptions? options = null) =>
        Write(Plan(request, options), repositoryRoot);

    /// <summary>Writes a model already planned (and so checked): several plans are checked together before any is written.</summary>
    internal static TritonModel Write(TritonModelPlan plan, string repositoryRoot)
    {
        var modelDirectory = Path.Combine(Path.GetFullPath(repositoryRoot), plan.ModelName);
        try
        {
            StagedDirectory.Write(modelDirectory, staging =>
            {
                File.WriteAllBytes(Path.Combine(staging, ConfigFileName), System.Text.Encoding.UTF8.GetBytes(plan.ConfigText));
                WriteModelFiles(plan, staging);
                var versionDirectory = Path.Combine(staging, plan.Version.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(versionDirectory);
                foreach (var file in plan.VersionFiles)
                {
                    var target = Path.Combine(versionDirectory, file.EntryName);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(file.SourcePath, target);
                }
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw TextOutput.NotWritable(modelDirectory, e);
        }
        return new TritonModel(Path.GetFullPath(repositoryRoot), modelDirectory, Path.Combine(modelDirectory, ConfigFileName), plan);
    }

    /// <summary>
    /// The files the config refers to outside the version folder (warm-up data): under <paramref name="directory"/>, the
    /// model folder, or with <paramref name="subfolder"/> the folder that stands for that part of the model folder.
    /// </summary>
    internal static void WriteModelFiles(TritonModelPlan plan, string directory, string? subfolder = null)
    {
        foreach (var file in plan.ModelFiles)
        {
            var target = Path.Combine(directory, subfolder is null ? file.RelativePath : Path.GetRelativePath(subfolder, file.RelativePath));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, file.Bytes);
        }
    }

    internal static void CheckNames(PackageRequest request)
    {
        var name = request.ModelName;
        if (name.Length == 0 || name is "." or ".." || name.IndexOfAny(['/', '\\', '\0']) >= 0 || name.StartsWith('.'))
            throw new ModelForgeException(DiagnosticCode.BundleNameInvalid,
                $"Triton model name '{name}' is not one visible directory name: the directory name must equal the model name",
                null, "use a name without '/', '\\' or a leading '.', e.g. resnet50");
        if (request.Version < 0)
            throw new ModelForgeException(DiagnosticCode.BundleNameInvalid,
                $"Triton version {request.Version} is negative: a version directory must be a non-negative number",
                null, "use version 1 or higher");
    }

    /// <summary><c>VersionsToLoad</c> (serving.md §2.1): the policy must select at least one version that exists.</summary>
    internal static void CheckVersionPolicy(TritonVersionPolicy policy, IEnumerable<long> versions)
    {
        switch (policy)
        {
            case TritonVersionPolicy.Latest { NumVersions: < 1 } latest:
                throw Config($"version_policy latest {{ num_versions: {latest.NumVersions} }} serves no version", "serve at least the latest version: latest:1");
            case TritonVersionPolicy.Specific { Versions.Count: 0 }:
                throw Config("version_policy specific without versions serves no version", "list the versions to serve, e.g. specific:1,3");
        }
        var present = versions.ToList();
        if (policy.Selects(present).Count == 0)
            throw Config($"at least one version must be available under the version policy: {policy} selects none of the versions {string.Join(", ", present.Order())}",
                "list a version that is (or is being) written, or use latest:N");
    }

    private static List<TritonTensor> Inputs(PackageRequest request, OnnxSignature signature, bool batching)
    {
        var duplicate = request.Inputs.GroupBy(i => i.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw Config($"input '{duplicate.Key}' is declared twice: input names must be unique", "declare each input once");
        if (request.Inputs.Count != signature.Inputs.Count)
            throw Mismatch($"configuration expects {request.Inputs.Count} inputs, model provides {signature.Inputs.Count} " +
                $"({string.Join(", ", signature.Inputs.Select(i => i.Name))})", signature.Path,
                "declare one input per ONNX graph input, as given to modelforge convert");
        var result = new List<TritonTensor>();
        foreach (var declared in request.Inputs)
        {
            var model = signature.Inputs.FirstOrDefault(i => i.Name == declared.Name)
                ?? throw Mismatch($"unexpected inference input '{declared.Name}', allowed inputs are: {string.Join(", ", signature.Inputs.Select(i => i.Name))}",
                    signature.Path, "use the input names of the ONNX model");
            var type = TypeOf(model, "input");
            var declaredType = TritonDataTypes.FromOnnx((int)declared.DataType) ?? declared.DataType.ToString();
            if (declaredType != type)
                throw Mismatch($"configuration expects datatype {declaredType} for input '{declared.Name}', model provides {type}", signature.Path,
                    "declare the input with the element type the model was converted with");
            if (declared.Dims.Count != model.Shape.Count)
                throw Mismatch($"input '{declared.Name}': the model expects {model.Shape.Count} dimensions ({Shape(model.Shape)}) but {declared.Dims.Count} are declared ({string.Join(",", declared.Dims)})",
                    signature.Path, "declare the input with the model's rank");
            for (var d = 0; d < declared.Dims.Count; d++)
            {
                var dim = declared.Dims[d];
                if (dim.Value is { } size && size < 1)
                    throw Config($"input '{declared.Name}' dim {d} is {size}: dimension must be integer >= 1, or -1 to indicate a variable-size dimension",
                        "declare a positive size or a symbolic name");
                if (model.Shape[d].Value is { } fixedSize && dim.Value != fixedSize)
                    throw Mismatch($"input '{declared.Name}' dim {d} is declared {dim} but the model fixes it to {fixedSize}: where the ONNX dim is fixed the configured dim must equal it",
                        signature.Path, "declare the input as the model was converted");
            }
            if (batching) RequireBatchDim(model, "input", signature.Path, declared);
            var dims = declared.Dims.Skip(batching ? 1 : 0).Select(d => d.Value ?? -1).ToList();
            result.Add(Tensor(declared.Name, type, dims, batching));
        }
        return result;
    }

    private static List<TritonTensor> Outputs(PackageRequest request, OnnxSignature signature, bool batching)
    {
        var names = request.OutputNames ?? signature.Outputs.Select(o => o.Name).ToList();
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw Config($"output '{duplicate.Key}' is listed twice: output names must be unique", "list each output once");
        var result = new List<TritonTensor>();
        foreach (var name in names)
        {
            var model = signature.Outputs.FirstOrDefault(o => o.Name == name)
                ?? throw Mismatch($"unexpected inference output '{name}', allowed outputs are: {string.Join(", ", signature.Outputs.Select(o => o.Name))}",
                    signature.Path, "use the output names of the ONNX model");
            var type = TypeOf(model, "output");
            if (batching) RequireBatchDim(model, "output", signature.Path, null);
            var dims = model.Shape.Skip(batching ? 1 : 0).Select(d => d.AsTriton).ToList();
            if (dims.FirstOrDefault(d => d == 0, 1) == 0)
                throw Config($"output '{name}' has a dim of size 0: dimension must be integer >= 1, or -1 to indicate a variable-size dimension",
                    "Triton cannot serve empty tensors");
            result.Add(Tensor(name, type, dims, batching));
        }
        return result;
    }

    /// <summary>Triton's dims need at least one entry: a batch-only tensor is <c>dims:[1]</c> reshaped to a scalar; a scalar of a non-batching model is refused.</summary>
    private static TritonTensor Tensor(string name, string type, List<long> dims, bool batching)
    {
        if (dims.Count > 0) return new TritonTensor(name, type, dims);
        if (!batching)
            throw Config($"'{name}' is a scalar in a model with max_batch_size 0: Triton cannot have empty reshape for non-batching model as scalar tensors are not supported",
                "serve the model with batching (max_batch_size > 0), or return a tensor of rank 1 or more");
        return new TritonTensor(name, type, [1], ReshapeToScalar: true);
    }

    /// <summary>onnxruntime backend <c>CompareDimsSupported</c>: with max_batch_size > 0 every tensor's first dim must be -1 (dynamic).</summary>
    private static void RequireBatchDim(OnnxTensor model, string kind, string path, InputSpec? declared)
    {
        if (model.Shape.Count == 0 || !model.Shape[0].IsDynamic)
            throw Mismatch($"{kind} '{model.Name}' has shape [{Shape(model.Shape)}]: for the model to support batching the shape should have at least 1 dimension and the first dimension must be -1",
                path, "convert with a symbolic batch dim (--input x:float32[batch,...]), or package with max_batch_size 0");
        if (declared is not null && declared.Dims[0].IsStatic)
            throw Mismatch($"input '{declared.Name}' is declared with a fixed first dim {declared.Dims[0]}: with max_batch_size > 0 the first dimension is the batch dim and must be -1",
                path, "declare the batch dim by name, e.g. x:float32[batch,3,224,224]");
    }

    private static string TypeOf(OnnxTensor tensor, string kind) =>
        TritonDataTypes.FromOnnx(tensor.ElementType)
        ?? throw Config($"{kind} '{tensor.Name}' has ONNX element type {tensor.ElementType}, which has no Triton TYPE_*: must specify a supported 'data_type'",
            "convert the model so this tensor is a bool, integer, float16/32/64, bfloat16 or string tensor");

    private static readonly HashSet<string> IntParameters = new(StringComparer.Ordinal)
    {
        "trt_max_partition_iterations", "trt_min_subgraph_size", "trt_dla_core", "trt_builder_optimization_level",
        "trt_auxiliary_streams", "trt_ep_context_embed_mode",
    };

    private static readonly HashSet<string> BoolParameters = new(StringComparer.Ordinal)
    {
        "int8_use_native_calibration_table", "trt_dla_enable", "trt_engine_cache_enable", "trt_dump_subgraphs",
        "trt_force_sequential_engine_build", "trt_context_memory_sharing_enable", "trt_layer_norm_fp32_fallback",
        "trt_timing_cache_enable", "trt_force_timing_cache", "trt_detailed_build_log", "trt_build_heuristics_enable",
        "trt_sparsity_enable", "trt_cuda_graph_enable", "trt_dump_ep_context_model",
    };

    private static readonly HashSet<string> StringParameters = new(StringComparer.Ordinal)
    {
        "int8_calibration_table_name", "trt_engine_cache_path", "trt_engine_cache_prefix", "trt_timing_cache_path",
        "trt_tactic_sources", "trt_extra_plugin_lib_paths", "trt_profile_min_shapes", "trt_profile_max_shapes",
        "trt_profile_opt_shapes", "trt_ep_context_file_path",
    };

    /// <summary>The onnxruntime backend's <c>LoadModel</c> rules for <c>gpu_execution_accelerator { name: "tensorrt" }</c> (serving.md §2.5).</summary>
    private static void CheckAccelerator(TensorRtAccelerator accelerator, PackageRequest request, TritonOptions options)
    {
        if (options.Backend == TritonBackend.LibTorch)
            throw Accelerator("the tensorrt accelerator with the libtorch backend: execution accelerators are an onnxruntime backend option",
                "use the onnxruntime backend for TensorRT");
        if (request.Device != DeviceKind.Gpu)
            throw Accelerator("the tensorrt accelerator with KIND_CPU instances: gpu_execution_accelerator is read only for GPU instances, so it would be silently ignored",
                "package for the GPU device kind, or leave the accelerator out");
        if (accelerator.Precision is not ("FP32" or "FP16" or "BF16" or "INT8"))
            throw Accelerator($"unsupported precision mode '{accelerator.Precision}' is requested for the TensorRT accelerator",
                "use precision_mode FP32, FP16, BF16 or INT8 (upper case)");
        if (accelerator.MaxWorkspaceBytes is <= 0)
            throw Accelerator($"max_workspace_size_bytes {accelerator.MaxWorkspaceBytes} is not a positive unsigned number", "give a positive size in bytes, or leave it out");
        foreach (var (key, value) in accelerator.Parameters)
        {
            if (key is "precision_mode" or "max_workspace_size_bytes")
                throw Accelerator($"parameter '{key}' is given in Parameters: it is set through the accelerator's own property",
                    "set Precision / MaxWorkspaceBytes instead");
            if (IntParameters.Contains(key))
            {
                if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                    throw Accelerator($"parameter '{key}' = '{value}' is not an int (the backend parses it with stoi)", "give an integer");
            }
            else if (BoolParameters.Contains(key))
            {
                if (value.ToLowerInvariant() is not ("true" or "on" or "1" or "false" or "off" or "0"))
                    throw Accelerator($"parameter '{key}' = '{value}' is not a bool the backend's ParseBoolValue accepts (true/on/1, false/off/0)", "give true or false");
            }
            else if (!StringParameters.Contains(key))
                throw Accelerator($"unknown parameter '{key}' is provided for TensorRT Execution Accelerator", "use one of the keys in serving.md §2.5");
            if (value.Length == 0)
                throw Accelerator($"parameter '{key}' is empty: the backend drops empty values", "give a value, or leave the key out");
        }
    }

    /// <summary>The engine's optimisation profile must cover every batch Triton forms: 1..max_batch_size.</summary>
    private static void CheckEngineBatch(EngineBinding engine, PackageRequest request)
    {
        foreach (var input in request.Inputs)
        {
            if (!engine.BatchRanges.TryGetValue(input.Name, out var range)) continue;
            if (range.Min > 1 || range.Max < request.Batching.MaxBatchSize)
                throw new ModelForgeException(DiagnosticCode.PackageEngineUnusable,
                    $"the engine's profile for input '{input.Name}' covers batch {range.Min}..{range.Max}, but Triton forms batches 1..{request.Batching.MaxBatchSize} (max_batch_size)",
                    new SourceLocation(Path.Combine(engine.Directory, Engine.EngineLayout.ManifestFileName)),
                    $"build the engine with --max-batch {request.Batching.MaxBatchSize} (or a profile from 1), or lower max_batch_size to {range.Max}");
        }
    }

    private static List<TritonWarmup> Warmups(PackageRequest request, IReadOnlyList<TritonTensor> inputs, TritonOptions options)
    {
        var batching = request.Batching.MaxBatchSize > 0;
        var concrete = new List<TritonTensor>();
        for (var i = 0; i < inputs.Count; i++)
        {
            var declared = request.Inputs[i].Dims.Skip(batching ? 1 : 0).ToList();
            var dims = new List<long>();
            for (var d = 0; d < inputs[i].Dims.Count; d++)
            {
                if (inputs[i].Dims[d] != -1) { dims.Add(inputs[i].Dims[d]); continue; }
                var symbol = d < declared.Count ? declared[d].Symbol : null;
                if (symbol is null || !options.WarmupDimSizes.TryGetValue(symbol, out var size) || size < 1)
                    throw Config($"warmup setting expects all variable-size dimensions are specified for input '{inputs[i].Name}' (dim '{symbol ?? "?"}' has no size)",
                        $"give a size for '{symbol}' (TritonOptions.WarmupDimSizes), or turn warmup off");
                dims.Add(size);
            }
            concrete.Add(inputs[i] with { Dims = dims });
        }
        var sizes = batching ? new[] { 1, request.Batching.MaxBatchSize }.Distinct() : [1];
        return sizes.Select(size => new TritonWarmup($"zero_batch_{size}", size, concrete)).ToList();
    }

    private static string Emit(PackageRequest request, TritonOptions options, IReadOnlyList<TritonTensor> inputs, IReadOnlyList<TritonTensor> outputs,
        TensorRtAccelerator? accelerator, IReadOnlyList<TritonWarmup> warmups, EngineBinding? engine, TritonSettingsPlan settings)
    {
        var pbtxt = new PbtxtWriter();
        pbtxt.Comment(ConfigHeader);
        if (engine is not null)
            pbtxt.Comment($"The TensorRT engine in version {request.Version} is bound to {engine.Describe()};\nit loads only on that GPU architecture with that TensorRT.");
        pbtxt.String("name", request.ModelName);
        var libtorch = options.Backend == TritonBackend.LibTorch;
        pbtxt.String("platform", libtorch ? "pytorch_libtorch" : "onnxruntime_onnx");
        pbtxt.String("backend", libtorch ? "pytorch" : "onnxruntime");
        pbtxt.Number("max_batch_size", request.Batching.MaxBatchSize);
        pbtxt.Message("version_policy", p => WriteVersionPolicy(p, options.VersionPolicy));
        pbtxt.Messages("input", inputs, WriteTensor);
        pbtxt.Messages("output", outputs, WriteTensor);
        pbtxt.Messages("instance_group", [request.Batching.InstanceCount], (p, count) =>
        {
            p.Enum("kind", request.Device == DeviceKind.Gpu ? "KIND_GPU" : "KIND_CPU").Number("count", count);
            settings.WriteRateLimiter(p);
        });
        if (request.Batching.MaxBatchSize > 0)
        {
            pbtxt.Message("dynamic_batching", p =>
            {
                if (request.Batching.PreferredBatchSizes.Count > 0)
                    p.Numbers("preferred_batch_size", request.Batching.PreferredBatchSizes.Select(s => (long)s));
                p.Number("max_queue_delay_microseconds", request.Batching.MaxQueueDelayMicroseconds);
                settings.WriteQueueSettings(p);
            });
        }
        if (accelerator is not null)
        {
            pbtxt.Message("optimization", o => o.Message("execution_accelerators", e => e.Messages("gpu_execution_accelerator", [accelerator], (a, acc) =>
            {
                a.String("name", "tensorrt");
                a.StringMapEntry("parameters", "precision_mode", acc.Precision);
                if (acc.MaxWorkspaceBytes is { } bytes)
                    a.StringMapEntry("parameters", "max_workspace_size_bytes", bytes.ToString(CultureInfo.InvariantCulture));
                foreach (var (key, value) in acc.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
                    a.StringMapEntry("parameters", key, value);
            }, separator: ":")));
        }
        settings.WriteModelSettings(pbtxt);
        if (warmups.Count > 0)
        {
            pbtxt.Messages("model_warmup", warmups, (p, warmup) =>
            {
                p.String("name", warmup.Name).Number("batch_size", warmup.BatchSize);
                foreach (var input in warmup.Inputs)
                {
                    p.Message("inputs", i => i.String("key", input.Name).Message("value", v =>
                    {
                        v.Enum("data_type", input.DataType).Numbers("dims", input.Dims);
                        if (warmup.DataFiles?.GetValueOrDefault(input.Name) is { } file) v.String("input_data_file", file);
                        else v.Bool("zero_data", true);
                    }));
                }
            });
        }
        return pbtxt.ToString();
    }

    internal static void WriteVersionPolicy(PbtxtWriter p, TritonVersionPolicy policy)
    {
        switch (policy)
        {
            case TritonVersionPolicy.Latest latest: p.Message("latest", l => l.Number("num_versions", latest.NumVersions)); break;
            case TritonVersionPolicy.Specific specific: p.Message("specific", s => s.Numbers("versions", specific.Versions)); break;
            default: p.Message("all", _ => { }); break;
        }
    }

    internal static void WriteTensor(PbtxtWriter p, TritonTensor tensor)
    {
        p.String("name", tensor.Name).Enum("data_type", tensor.DataType).Numbers("dims", tensor.Dims);
        if (tensor.ReshapeToScalar) p.Message("reshape", r => r.Numbers("shape", []));
        if (tensor.LabelFileName is { } labels) p.String("label_filename", labels);
    }

    private static string Shape(IReadOnlyList<OnnxDim> shape) => string.Join(",", shape);

    private static ModelForgeException Mismatch(string message, string onnxPath, string hint) =>
        new(DiagnosticCode.TritonModelMismatch, message, new SourceLocation(onnxPath), hint);

    private static ModelForgeException Config(string message, string hint) => new(DiagnosticCode.TritonConfigInvalid, message, null, hint);

    private static ModelForgeException Accelerator(string message, string hint) => new(DiagnosticCode.TritonAcceleratorInvalid, message, null, hint);
}
