using System.Text.Json;
using Json.Schema;
using ModelForge.Core.Diagnostics;
using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Package;
using ModelForge.Package.Processing;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Triton;
using ModelForge.Package.Tuning;
using ModelForge.Package.Tuning.Traffic;
using ModelForge.Optimize;
using ModelForge.Optimize.Int8;
using ModelForge.Validate.Compare;

namespace ModelForge.Pipeline.Spec;

/// <summary>
/// Reads a <c>*.modelforge.json</c>: the JSON schema first (every violation is reported, each with its JSON path and
/// line/column), then the checks a schema cannot express (dims without a range, min ≤ opt ≤ max, the source exists).
/// The spec is data only: nothing in it is executed.
/// </summary>
public static class SpecReader
{
    /// <summary>Specs are small; a larger file is a mistake (or an attack), not a model spec.</summary>
    public const int MaxSpecBytes = 1 << 20;

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 64 };

    // The schema users point their editors at is the one enforced here (embedded from schemas/).
    private static readonly Lazy<JsonDocument> SchemaDocument = new(() =>
    {
        using var stream = typeof(SpecReader).Assembly.GetManifestResourceStream("modelforge.schema.json")!;
        return JsonDocument.Parse(stream);
    });

    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromText(SchemaDocument.Value.RootElement.GetRawText()));

    public static ModelSpec Load(string specPath, string? outputOverride = null)
    {
        var fullPath = Path.GetFullPath(specPath);
        if (!File.Exists(fullPath))
            throw new ModelForgeException(DiagnosticCode.FileNotFound, $"spec file '{specPath}' does not exist", new SourceLocation(specPath),
                "pass a *.modelforge.json file or a TorchScript .pt with --input");
        var bytes = File.ReadAllBytes(fullPath);
        if (bytes.Length > MaxSpecBytes)
            throw Invalid(specPath, (1, 1), $"the spec is {bytes.Length} bytes; specs are limited to {MaxSpecBytes} bytes", "a model spec is a few hundred bytes of JSON");
        return Parse(bytes, specPath, outputOverride);
    }

    /// <summary>Parses spec text; <paramref name="specPath"/> locates relative paths and names the file in diagnostics.</summary>
    public static ModelSpec Parse(ReadOnlySpan<byte> json, string specPath, string? outputOverride = null)
    {
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) json = json[3..];
        if (!System.Text.Unicode.Utf8.IsValid(json))
            throw Invalid(specPath, (1, 1), "the spec is not valid UTF-8 text", "save the spec as UTF-8");
        JsonDocument document;
        JsonPositions positions;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions
            {
                CommentHandling = ReaderOptions.CommentHandling, AllowTrailingCommas = true, MaxDepth = ReaderOptions.MaxDepth,
                // A field given twice would be read one way by the schema check and another by the mapper.
                AllowDuplicateProperties = false,
            });
            positions = new JsonPositions(json, ReaderOptions);
        }
        catch (JsonException e)
        {
            var line = (int)(e.LineNumber ?? 0) + 1;
            var column = (int)(e.BytePositionInLine ?? 0) + 1;
            throw Invalid(specPath, (line, column), $"the spec is not valid JSON: {FirstSentence(e.Message)}", "fix the JSON syntax at that position");
        }
        using (document)
        {
            var root = document.RootElement;
            CheckSchema(root, specPath, positions);
            try
            {
                return new SpecMapper(root, specPath, positions).Map(outputOverride);
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException or OverflowException or KeyNotFoundException)
            {
                // What the schema lets through but .NET cannot represent: 1.0 or 1e3 where an int is read, ints beyond
                // 32/64 bits, NUL characters in paths. Found by the spec fuzzer (tests/Fuzz).
                throw Invalid(specPath, (1, 1), $"a value in the spec cannot be used: {e.Message}",
                    "write integers without a fraction or exponent, within 32 bits (64 for dims and sizes), and paths without control characters");
            }
        }
    }

    private static void CheckSchema(JsonElement root, string specPath, JsonPositions positions)
    {
        var results = Schema.Value.Evaluate(root, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid) return;
        var details = results.Details ?? [];
        var diagnostics = new List<Diagnostic>();
        void Add(string pointer, string message) => diagnostics.Add(new Diagnostic(DiagnosticCode.SpecInvalid, $"{DisplayPath(pointer)}: {message}",
            Location(specPath, positions.Of(pointer)), "see schemas/modelforge.schema.json for every field and its allowed values"));

        foreach (var detail in details.Where(d => d.Errors is not null && !IsAnyOfBranch(d.EvaluationPath.ToString())))
            foreach (var (keyword, message) in detail.Errors!)
                Add(detail.InstanceLocation.ToString(), Explain(keyword, message, detail));

        // An anyOf that no branch satisfies reports nothing itself, only each branch's complaint: join those.
        var failedAnyOf = details.Where(d => d.Errors is not null && IsAnyOfBranch(d.EvaluationPath.ToString()))
            .GroupBy(d => (Instance: d.InstanceLocation.ToString(), Parent: AnyOfParent(d.EvaluationPath.ToString())))
            .Where(g => details.Any(d => !d.IsValid && d.EvaluationPath.ToString() == g.Key.Parent && d.InstanceLocation.ToString() == g.Key.Instance));
        foreach (var group in failedAnyOf)
            Add(group.Key.Instance, "matches none of the allowed forms: " + string.Join("; or ", group.SelectMany(d => d.Errors!.Values)));

        if (diagnostics.Count == 0) Add("", "the spec does not match schemas/modelforge.schema.json");
        throw new ModelForgeException(diagnostics.DistinctBy(d => d.Message + d.Location).ToList());
    }

    private static bool IsAnyOfBranch(string evaluationPath) => evaluationPath.Contains("/anyOf/", StringComparison.Ordinal);

    private static string AnyOfParent(string evaluationPath) => evaluationPath[..evaluationPath.LastIndexOf("/anyOf/", StringComparison.Ordinal)];

    private static string Explain(string keyword, string message, EvaluationResults detail)
    {
        var pointer = detail.InstanceLocation.ToString();
        return keyword switch
        {
            "" when pointer.Length > 0 => $"'{Unescape(pointer[(pointer.LastIndexOf('/') + 1)..])}' is not a known field here",
            "required" => message.Replace("Required properties", "missing required field(s)", StringComparison.Ordinal),
            "enum" => "must be one of " + string.Join(", ", SchemaNodeAt(detail.SchemaLocation).GetProperty("enum").EnumerateArray().Select(v => v.GetRawText())),
            _ => message,
        };
    }

    /// <summary>The schema object a result came from: its canonical location's fragment is a pointer into the schema.</summary>
    private static JsonElement SchemaNodeAt(Uri schemaLocation)
    {
        var node = SchemaDocument.Value.RootElement;
        foreach (var segment in Uri.UnescapeDataString(schemaLocation.Fragment.TrimStart('#')).Split('/', StringSplitOptions.RemoveEmptyEntries))
            node = node.ValueKind == JsonValueKind.Array ? node[int.Parse(segment, System.Globalization.CultureInfo.InvariantCulture)] : node.GetProperty(Unescape(segment));
        return node;
    }

    /// <summary>A JSON pointer as users read it: <c>$.inputs[0].dtype</c>.</summary>
    public static string DisplayPath(string pointer)
    {
        if (pointer.Length == 0) return "$";
        var text = "$";
        foreach (var segment in pointer[1..].Split('/').Select(Unescape))
            text += segment.Length > 0 && segment.All(char.IsAsciiDigit) ? $"[{segment}]" : "." + segment;
        return text;
    }

    private static string Unescape(string segment) => segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);

    private static string FirstSentence(string message) => message.Split(" LineNumber:", 2)[0].TrimEnd('.', ' ');

    internal static SourceLocation Location(string specPath, (int Line, int Column) position) => new(specPath, position.Line, position.Column);

    internal static ModelForgeException Invalid(string specPath, (int Line, int Column) position, string message, string hint) =>
        new(DiagnosticCode.SpecInvalid, message, Location(specPath, position), hint);

    /// <summary>Turns a schema-valid document into a <see cref="ModelSpec"/>, checking what the schema cannot.</summary>
    private sealed class SpecMapper(JsonElement root, string specPath, JsonPositions positions)
    {
        private readonly string _directory = Path.GetDirectoryName(Path.GetFullPath(specPath))!;

        public ModelSpec Map(string? outputOverride)
        {
            var source = Path.GetFullPath(Path.Combine(_directory, root.GetProperty("source").GetString()!));
            if (!File.Exists(source))
                throw new ModelForgeException(DiagnosticCode.FileNotFound, $"$.source: the model '{root.GetProperty("source").GetString()}' does not exist " +
                    $"(looked for {source})", At("/source"), "paths in a spec are relative to the spec file");
            var name = String(root, "name") ?? Path.GetFileNameWithoutExtension(source);
            var dims = Dims();
            var inputs = Inputs(dims);
            var packageSpec = root.TryGetProperty("package", out var package) ? PackageSpecOf(package) : null;
            if (packageSpec?.Triton is { } triton) CheckTritonSettings(triton, packageSpec.Device, inputs);
            var output = outputOverride is not null ? Path.GetFullPath(outputOverride)
                : String(root, "output") is { } o ? Path.GetFullPath(Path.Combine(_directory, o))
                : Path.Combine(_directory, "out", name);
            return new ModelSpec
            {
                SpecPath = Path.GetFullPath(specPath),
                Name = name,
                SourcePath = source,
                Inputs = inputs,
                OutputNames = root.TryGetProperty("outputs", out var outputs) ? outputs.EnumerateArray().Select(e => e.GetString()!).ToList() : null,
                Dims = dims,
                Opset = root.TryGetProperty("onnx", out var onnx) && onnx.TryGetProperty("opset", out var opset) ? opset.GetInt32() : Convert.Ops.OpRegistry.DefaultOpset,
                Optimize = onnx.ValueKind == JsonValueKind.Object && String(onnx, "optimize") is { } level
                    ? Enum.Parse<Convert.Passes.OptimizeLevel>(level, ignoreCase: true) : Convert.Passes.OptimizeLevel.All,
                ExternalData = onnx.ValueKind == JsonValueKind.Object && (Bool(onnx, "externalData") ?? false),
                Precision = onnx.ValueKind == JsonValueKind.Object ? PrecisionOf(onnx) : new PrecisionSpec(),
                TensorRt = root.TryGetProperty("tensorrt", out var trt) ? TensorRt(trt) : null,
                Validation = root.TryGetProperty("validate", out var validate) ? Validation(validate, inputs) : new ValidationSpec(),
                Package = packageSpec,
                OutputDirectory = output,
            };
        }

        private Dictionary<string, DimRange> Dims()
        {
            var dims = new Dictionary<string, DimRange>(StringComparer.Ordinal);
            if (!root.TryGetProperty("dims", out var element)) return dims;
            foreach (var dim in element.EnumerateObject())
            {
                var min = dim.Value.GetProperty("min").GetInt64();
                var max = dim.Value.GetProperty("max").GetInt64();
                var opt = dim.Value.TryGetProperty("opt", out var o) ? o.GetInt64() : max;
                if (!(min <= opt && opt <= max))
                    throw new ModelForgeException(DiagnosticCode.SpecInvalid, $"$.dims.{dim.Name}: needs min <= opt <= max, got min {min}, opt {opt}, max {max}",
                        At($"/dims/{JsonPositions.Escape(dim.Name)}"), "e.g. \"batch\": { \"min\": 1, \"opt\": 8, \"max\": 32 }");
                dims[dim.Name] = new DimRange(min, opt, max);
            }
            return dims;
        }

        private List<InputSpec> Inputs(Dictionary<string, DimRange> dims)
        {
            var inputs = new List<InputSpec>();
            var index = 0;
            foreach (var input in root.GetProperty("inputs").EnumerateArray())
            {
                var shape = new List<Dim>();
                var dimIndex = 0;
                foreach (var dim in input.GetProperty("shape").EnumerateArray())
                {
                    if (dim.ValueKind == JsonValueKind.Number) shape.Add(Dim.Of(dim.GetInt64()));
                    else if (root.TryGetProperty("dims", out _) && !dims.ContainsKey(dim.GetString()!))
                        throw new ModelForgeException(DiagnosticCode.SpecInvalid,
                            $"$.inputs[{index}].shape[{dimIndex}]: symbolic dim '{dim.GetString()}' has no range in $.dims", At($"/inputs/{index}/shape/{dimIndex}"),
                            $"add \"{dim.GetString()}\": {{ \"min\": 1, \"max\": N }} to \"dims\"");
                    else shape.Add(Dim.Named(dim.GetString()!));
                    dimIndex++;
                }
                var name = input.GetProperty("name").GetString()!;
                if (inputs.Any(i => i.Name == name))
                    throw new ModelForgeException(DiagnosticCode.SpecInvalid, $"$.inputs[{index}].name: input '{name}' is declared twice", At($"/inputs/{index}/name"),
                        "give every input a distinct name");
                inputs.Add(new InputSpec(name, DataTypes.FromName(input.GetProperty("dtype").GetString()!)!.Value, shape));
                index++;
            }
            return inputs;
        }

        private static TensorRtSpec TensorRt(JsonElement trt) => new()
        {
            Precision = EngineTarget.ParsePrecision(String(trt, "precision") ?? "fp32"),
            Require = Bool(trt, "require") ?? false,
            AllOnTensorRt = Bool(trt, "allOnTensorRt") ?? false,
            WorkspaceMb = trt.TryGetProperty("workspaceMb", out var w) ? w.GetInt64() : null,
            BuilderLevel = trt.TryGetProperty("builderLevel", out var b) ? b.GetInt32() : EngineTarget.DefaultBuilderOptimizationLevel,
            TimingCache = Bool(trt, "timingCache") ?? true,
        };

        private PackageSpec PackageSpecOf(JsonElement package)
        {
            var torchServe = package.TryGetProperty("torchserve", out var ts) ? ts : (JsonElement?)null;
            var triton = package.TryGetProperty("triton", out var tr) ? tr : (JsonElement?)null;
            var tuning = package.TryGetProperty("tuning", out var tu) ? tu : (JsonElement?)null;
            return new PackageSpec
            {
                Version = package.TryGetProperty("version", out var v) ? v.GetInt32() : 1,
                Device = String(package, "device") == "gpu" ? DeviceKind.Gpu : DeviceKind.Cpu,
                Tuning = tuning is { } t && String(t, "level") is { } level ? Enum.Parse<TuningLevel>(level, ignoreCase: true) : TuningLevel.Quick,
                LatencyBudgetMs = tuning is { } b ? Number(b, "latencyBudgetMs") : null,
                Traffic = tuning is { } tr2 && tr2.TryGetProperty("traffic", out var traffic) ? Traffic(traffic) : null,
                TorchServe = torchServe is { } options ? new TorchServeOptions
                {
                    Format = String(options, "format") switch { "tgz" => MarFormat.Tgz, "no-archive" => MarFormat.NoArchive, _ => MarFormat.Default },
                    Serialized = String(options, "serializedModel") == "onnx" ? SerializedModel.Onnx : SerializedModel.TorchScript,
                    ResponseTimeoutSeconds = options.TryGetProperty("responseTimeoutSeconds", out var r) ? r.GetInt32() : 120,
                } : null,
                // A handler file is relative to the spec, with its ':function' suffix kept (h.py:handle → /abs/h.py:handle).
                Handler = torchServe is { } h && String(h, "handler") is { } handler
                    ? (TorchServeArchiver.HandlerFile(handler) is null ? handler : SpecFile(handler.Split(':')[0]) + handler[handler.Split(':')[0].Length..])
                    : "base_handler",
                ExtraFiles = torchServe is { } e && e.TryGetProperty("extraFiles", out var extra) ? extra.EnumerateArray().Select(f => SpecFile(f.GetString()!)).ToList() : [],
                RequirementsFile = torchServe is { } q && String(q, "requirements") is { } requirements ? SpecFile(requirements) : null,
                Triton = triton is { } tri ? new TritonOptions
                {
                    Backend = String(tri, "backend") == "libtorch" ? TritonBackend.LibTorch : TritonBackend.OnnxRuntime,
                    Warmup = Bool(tri, "warmup") ?? true,
                    VersionPolicy = tri.TryGetProperty("versionPolicy", out var policy) ? VersionPolicy(policy) : TritonVersionPolicy.Default,
                    // Relative to the spec, like every path in it.
                    Repository = String(tri, "repository") is { } repository ? SpecFile(repository) : null,
                    NewConfig = Bool(tri, "newConfig") ?? false,
                    Settings = TritonSettingsOf(tri),
                } : null,
                KServeStorageUri = package.TryGetProperty("kserve", out var kserve) ? String(kserve, "storageUri") : null,
                Processing = Processing(package),
            };
        }

        /// <summary><c>preprocess</c>, <c>postprocess</c> and <c>fused</c>; null when neither side is given (<c>fused</c> alone fuses nothing).</summary>
        private ProcessingOptions? Processing(JsonElement package)
        {
            var pre = package.TryGetProperty("preprocess", out var p) ? p : (JsonElement?)null;
            var post = package.TryGetProperty("postprocess", out var q) ? q : (JsonElement?)null;
            if (pre is null && post is null)
            {
                if (Bool(package, "fused") == true)
                    throw new ModelForgeException(DiagnosticCode.SpecInvalid, "$.package.fused: there is nothing to fuse without preprocess or postprocess", At("/package/fused"),
                        "add a preprocess or postprocess section, or remove fused");
                return null;
            }
            return new ProcessingOptions
            {
                Preprocess = pre is { } image ? new ImagePreprocess
                {
                    Layout = String(image, "layout") == "nchw" ? ImageLayout.Nchw : ImageLayout.Hwc,
                    ChannelOrder = String(image, "channelOrder") == "bgr" ? ChannelOrder.Bgr : ChannelOrder.Rgb,
                    Height = image.TryGetProperty("size", out var size) ? size[0].GetInt64() : null,
                    Width = image.TryGetProperty("size", out var width) ? width[1].GetInt64() : null,
                    Resize = Bool(image, "resize") ?? true,
                    Mean = Floats(image, "mean"),
                    Std = Floats(image, "std"),
                } : null,
                Postprocess = post is { } classes ? new ClassifierPostprocess
                {
                    Softmax = Bool(classes, "softmax") ?? false,
                    TopK = classes.TryGetProperty("topK", out var k) ? k.GetInt32() : null,
                    Argmax = Bool(classes, "argmax") ?? false,
                    LabelFile = String(classes, "labels") is { } labels ? SpecFile(labels) : null,
                } : null,
                Fused = Bool(package, "fused") ?? false,
            };
        }

        private static List<float> Floats(JsonElement e, string name) =>
            e.TryGetProperty(name, out var values) ? values.EnumerateArray().Select(v => (float)v.GetDouble()).ToList() : [];

        /// <summary><c>package.tuning.traffic</c>: the schema has checked its fields (and that a budget is given with it).</summary>
        private static TrafficProfile Traffic(JsonElement traffic) => TrafficProfile.Of(
            traffic.GetProperty("requestsPerSecond").GetDouble(),
            Enum.Parse<ArrivalProcess>(String(traffic, "arrival") ?? "poisson", ignoreCase: true),
            traffic.TryGetProperty("burstSize", out var burst) ? burst.GetInt32() : null);

        /// <summary><c>"all"</c>, <c>{"latest": N}</c> or <c>{"specific": [V, …]}</c> (the schema allows nothing else).</summary>
        private static TritonVersionPolicy VersionPolicy(JsonElement policy) =>
            policy.ValueKind == JsonValueKind.String ? new TritonVersionPolicy.All()
            : policy.TryGetProperty("latest", out var latest) ? new TritonVersionPolicy.Latest(latest.GetInt32())
            : new TritonVersionPolicy.Specific(policy.GetProperty("specific").EnumerateArray().Select(v => v.GetInt64()).ToList());

        /// <summary>
        /// The Triton rules that need no model, checked now so a bad setting fails before anything is converted; the
        /// diagnostics point at <c>package.triton</c>. A spec that builds a TensorRT engine serves on GPU only if the
        /// engine is built, so the device is left open for it.
        /// </summary>
        private void CheckTritonSettings(TritonOptions triton, DeviceKind device, List<InputSpec> inputs)
        {
            try
            {
                triton.CheckSettings(root.TryGetProperty("tensorrt", out _) ? null : device, BatchDim.Of(inputs) is not null);
            }
            catch (ModelForgeException e)
            {
                throw new ModelForgeException(e.Diagnostics.Select(d => d with { Message = "$.package.triton: " + d.Message, Location = At("/package/triton") }).ToList());
            }
        }

        /// <summary>The serving settings of <c>package.triton</c>; their values are checked by the Triton writer, with Triton's rule in each message.</summary>
        private TritonSettings TritonSettingsOf(JsonElement triton) => new()
        {
            ResponseCache = Bool(triton, "responseCache") ?? false,
            PriorityLevels = triton.TryGetProperty("priorityLevels", out var levels) ? levels.GetInt64() : 0,
            DefaultPriorityLevel = triton.TryGetProperty("defaultPriorityLevel", out var level) ? level.GetInt64() : 0,
            QueuePolicy = triton.TryGetProperty("queuePolicy", out var policy) ? QueuePolicy(policy) : null,
            PriorityQueuePolicies = triton.TryGetProperty("priorityQueuePolicy", out var policies)
                ? policies.EnumerateObject().ToDictionary(p => long.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => QueuePolicy(p.Value))
                : new Dictionary<long, TritonQueuePolicy>(),
            RateLimiter = triton.TryGetProperty("rateLimiter", out var limiter) ? new TritonRateLimiter
            {
                Resources = limiter.TryGetProperty("resources", out var resources)
                    ? resources.EnumerateArray().Select(r => new TritonRateLimiterResource(String(r, "name")!, r.GetProperty("count").GetInt64(), Bool(r, "global") ?? false)).ToList()
                    : [],
                Priority = limiter.TryGetProperty("priority", out var priority) ? priority.GetInt64() : 0,
            } : null,
            WarmupSample = String(triton, "warmupSample") is { } sample ? SpecFile(sample) : null,
            // Values may be written as JSON numbers or bools; the backend reads every parameter as a string.
            Parameters = triton.TryGetProperty("parameters", out var parameters)
                ? parameters.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText(), StringComparer.Ordinal)
                : new Dictionary<string, string>(),
            Cores = triton.TryGetProperty("cores", out var cores) ? cores.GetInt32() : null,
        };

        private static TritonQueuePolicy QueuePolicy(JsonElement policy) => new()
        {
            TimeoutAction = String(policy, "timeoutAction") == "delay" ? TimeoutAction.Delay : TimeoutAction.Reject,
            DefaultTimeoutMicroseconds = policy.TryGetProperty("defaultTimeoutMicroseconds", out var timeout) ? timeout.GetInt64() : 0,
            AllowTimeoutOverride = Bool(policy, "allowTimeoutOverride") ?? false,
            MaxQueueSize = policy.TryGetProperty("maxQueueSize", out var size) ? size.GetInt64() : 0,
        };

        /// <summary>A path from the spec, relative to the spec file.</summary>
        private string SpecFile(string path) => Path.GetFullPath(Path.Combine(_directory, path));

        private ValidationSpec Validation(JsonElement validate, List<InputSpec> inputs)
        {
            var perOutput = new Dictionary<string, Tolerance>(StringComparer.Ordinal);
            if (validate.TryGetProperty("outputs", out var outputs))
                foreach (var output in outputs.EnumerateObject())
                    perOutput[output.Name] = new Tolerance(output.Value.GetProperty("atol").GetDouble(), output.Value.GetProperty("rtol").GetDouble());
            var ranges = new Dictionary<string, InputRange>(StringComparer.Ordinal);
            if (validate.TryGetProperty("ranges", out var rangeElement))
                foreach (var range in rangeElement.EnumerateObject())
                {
                    if (inputs.All(i => i.Name != range.Name))
                        throw new ModelForgeException(DiagnosticCode.SpecInvalid, $"$.validate.ranges.{range.Name}: there is no input named '{range.Name}'",
                            At($"/validate/ranges/{JsonPositions.Escape(range.Name)}"), $"the inputs are {string.Join(", ", inputs.Select(i => i.Name))}");
                    var low = range.Value[0].GetDouble();
                    var high = range.Value[1].GetDouble();
                    if (!(low < high))
                        throw new ModelForgeException(DiagnosticCode.SpecInvalid, $"$.validate.ranges.{range.Name}: needs low < high, got [{low}, {high}]",
                            At($"/validate/ranges/{JsonPositions.Escape(range.Name)}"), "e.g. [0, 1] for images, [0, 30000] for token ids");
                    ranges[range.Name] = new InputRange(range.Name, low, high);
                }
            var tolerances = ToleranceSettings.Default.WithGlobal(Number(validate, "atol"), Number(validate, "rtol")) with
            {
                PerOutput = perOutput,
                TopK = validate.TryGetProperty("topK", out var k) ? k.GetInt32() : null,
            };
            return new ValidationSpec
            {
                Batches = validate.TryGetProperty("batches", out var batches) ? batches.EnumerateArray().Select(b => b.GetInt32()).Distinct().ToList() : null,
                Seed = validate.TryGetProperty("seed", out var seed) ? seed.GetInt32() : 0,
                Tolerances = tolerances,
                Ranges = ranges,
                OnFailure = String(validate, "onFailure") == "warning" ? GateMode.Warning : GateMode.Error,
                PrecisionThresholds = PrecisionThresholds(validate),
            };
        }

        /// <summary><c>onnx.precision</c> (one name or a list; the schema checks the names) and <c>onnx.calibration</c>.</summary>
        private PrecisionSpec PrecisionOf(JsonElement onnx)
        {
            var spec = new PrecisionSpec();
            if (onnx.TryGetProperty("precision", out var precision))
            {
                var names = precision.ValueKind == JsonValueKind.Array ? precision.EnumerateArray().Select(e => e.GetString()!).ToList() : [precision.GetString()!];
                var candidates = names.Select(n => PrecisionNames.TryParse(n, out var p) ? p : throw new InvalidOperationException($"the schema let '{n}' through")).ToList();
                if (candidates.Distinct().Count() != candidates.Count)
                    throw new ModelForgeException(DiagnosticCode.SpecInvalid, $"$.onnx.precision: a precision is listed twice ({string.Join(", ", names)})",
                        At("/onnx/precision"), "list each precision to try once, e.g. [\"fp32\", \"int8\"]");
                if (candidates.Contains(Precision.Int8Dynamic) && root.TryGetProperty("tensorrt", out var trt) && (Bool(trt, "allOnTensorRt") ?? false))
                    throw new ModelForgeException(DiagnosticCode.PrecisionUnsupportedByProvider,
                        "$.onnx.precision: int8-dynamic cannot run on TensorRT (it has no DynamicQuantizeLinear, MatMulInteger or DynamicQuantizeLSTM " +
                        "kernels), and tensorrt.allOnTensorRt requires every node there", At("/onnx/precision"),
                        "use int8 (static QDQ, which TensorRT runs as explicit quantization) or fp16, or drop tensorrt.allOnTensorRt");
                spec = spec with { Candidates = candidates };
            }
            if (onnx.TryGetProperty("sensitivity", out var sensitivity))
                spec = spec with
                {
                    Sensitivity = sensitivity.ValueKind switch
                    {
                        JsonValueKind.False => null,
                        JsonValueKind.True => PrecisionSpec.DefaultSensitivity,
                        _ => new SensitivityBudget(
                            sensitivity.TryGetProperty("maxFloatNodes", out var nodes) ? nodes.GetInt32() : null,
                            Number(sensitivity, "maxSeconds") is { } seconds ? TimeSpan.FromSeconds(seconds) : PrecisionSpec.DefaultSensitivity.MaxTime),
                    },
                };
            if (!onnx.TryGetProperty("calibration", out var calibration)) return spec;
            string? data = null;
            if (String(calibration, "data") is { } file)
            {
                data = Path.GetFullPath(Path.Combine(_directory, file));
                if (!File.Exists(data))
                    throw new ModelForgeException(DiagnosticCode.FileNotFound, $"$.onnx.calibration.data: '{file}' does not exist (looked for {data})",
                        At("/onnx/calibration/data"), "paths in a spec are relative to the spec file; give an .npz with one array per model input");
            }
            return spec with
            {
                CalibrationData = data,
                CalibrationSamples = calibration.TryGetProperty("samples", out var samples) ? samples.GetInt32() : Int8Options.DefaultSamples,
                CalibrationMethod = String(calibration, "method") is { } method ? Enum.Parse<CalibrationMethod>(method, ignoreCase: true) : CalibrationMethod.MinMax,
            };
        }

        /// <summary><c>validate.precision</c>: per precision, the bars that replace the defaults' (a bar not given keeps its default).</summary>
        private IReadOnlyDictionary<Precision, QuantizationThresholds> PrecisionThresholds(JsonElement validate)
        {
            if (!validate.TryGetProperty("precision", out var element)) return ValidationSpec.DefaultThresholds;
            var thresholds = new Dictionary<Precision, QuantizationThresholds>(ValidationSpec.DefaultThresholds);
            foreach (var entry in element.EnumerateObject())
            {
                PrecisionNames.TryParse(entry.Name, out var precision);
                var bars = thresholds[precision];
                thresholds[precision] = bars with
                {
                    MinCosine = Number(entry.Value, "minCosine") ?? bars.MinCosine,
                    MinSqnrDb = Number(entry.Value, "minSqnrDb") ?? bars.MinSqnrDb,
                    MinTop1 = Number(entry.Value, "minTop1") ?? bars.MinTop1,
                    MinTop5 = Number(entry.Value, "minTop5") ?? bars.MinTop5,
                };
            }
            return thresholds;
        }

        private SourceLocation At(string pointer) => Location(specPath, positions.Of(pointer));

        private static string? String(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;
        private static bool? Bool(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetBoolean() : null;
        private static double? Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetDouble() : null;
    }
}
