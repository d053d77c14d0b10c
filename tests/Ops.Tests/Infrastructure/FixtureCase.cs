using System.Globalization;
using System.Text.Json;
using ModelForge.Convert.IR;
using ModelForge.Model.Tensors;

namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>One declared input of a fixture: name, element type (spec.json's "float32", "int64", "bool", ...) and dims.</summary>
public sealed record FixtureInput(string Name, DataType ElementType, IReadOnlyList<FixtureDim> Dims)
{
    /// <summary>The concrete shape for a batch size.</summary>
    public long[] ShapeFor(int batch) => Dims.Select(d => d.IsBatch ? batch : d.Value).ToArray();
}

/// <summary>A dim in spec.json: an integer, or the symbol "batch".</summary>
public readonly record struct FixtureDim(long Value, bool IsBatch)
{
    public static FixtureDim Batch => new(-1, true);
    public static FixtureDim Fixed(long value) => new(value, false);
    public override string ToString() => IsBatch ? "batch" : Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A fixture case folder: <c>fixtures/&lt;kind&gt;/&lt;name&gt;/</c> with <c>model.pt</c> (traced TorchScript),
/// <c>spec.json</c>, and for each batch size B <c>bB/input_i.npy</c>, <c>bB/output_j.npy</c>.
/// </summary>
public sealed class FixtureCase
{
    public string Kind { get; }
    public string Name { get; }
    public string Description { get; }
    public string Directory { get; }
    public IReadOnlyList<string> Ops { get; }
    public IReadOnlyList<FixtureInput> Inputs { get; }
    public IReadOnlyList<int> BatchSizes { get; }
    public double Atol { get; }
    public double Rtol { get; }
    public int OutputCount { get; }

    /// <summary>
    /// spec.json's optional "ort_cpu": why ONNX Runtime's CPU provider cannot run this case (bfloat16 kernels it lacks);
    /// null when it can.
    /// </summary>
    public string? OrtCpuUnsupported { get; }

    /// <summary>
    /// spec.json's optional "min_opset": the first opset at which ONNX can express the case's op (GridSample from 16);
    /// below it conversion must fail with a diagnostic naming the op and that opset.
    /// </summary>
    public int? MinOpset { get; }

    public string ModelPath => Path.Combine(Directory, "model.pt");
    public string SpecPath => Path.Combine(Directory, "spec.json");
    public string BatchDirectory(int batch) => Path.Combine(Directory, $"b{batch}");
    public string InputPath(int batch, int index) => Path.Combine(BatchDirectory(batch), $"input_{index}.npy");
    public string OutputPath(int batch, int index) => Path.Combine(BatchDirectory(batch), $"output_{index}.npy");

    public HostTensor[] LoadInputs(int batch) =>
        Enumerable.Range(0, Inputs.Count).Select(i => Npy.Read(InputPath(batch, i))).ToArray();

    public HostTensor[] LoadOutputs(int batch) =>
        Enumerable.Range(0, OutputCount).Select(j => Npy.Read(OutputPath(batch, j))).ToArray();

    private FixtureCase(string kind, string directory, JsonElement spec)
    {
        Kind = kind;
        Directory = directory;
        Name = spec.TryGetProperty("name", out var n) ? n.GetString() ?? Path.GetFileName(directory) : Path.GetFileName(directory);
        Description = spec.TryGetProperty("description", out var d) ? d.GetString() ?? "" : "";
        Ops = spec.TryGetProperty("ops", out var ops) ? ops.EnumerateArray().Select(o => o.GetString() ?? "").ToArray() : [];
        Inputs = Required(spec, "inputs").EnumerateArray().Select(ParseInput).ToArray();
        BatchSizes = Required(spec, "batch_sizes").EnumerateArray().Select(b => b.GetInt32()).ToArray();
        Atol = Required(spec, "atol").GetDouble();
        Rtol = Required(spec, "rtol").GetDouble();
        OutputCount = Required(spec, "outputs").GetInt32();
        OrtCpuUnsupported = spec.TryGetProperty("ort_cpu", out var ort) ? ort.GetString() : null;
        MinOpset = spec.TryGetProperty("min_opset", out var minOpset) ? minOpset.GetInt32() : null;
    }

    /// <summary>Loads <c>fixtures/&lt;kind&gt;/&lt;name&gt;/spec.json</c>.</summary>
    public static FixtureCase Load(string kind, string name)
    {
        string dir = Path.Combine(RepoPaths.Fixtures, kind, name);
        string specPath = Path.Combine(dir, "spec.json");
        if (!File.Exists(specPath))
            throw new FileNotFoundException($"Fixture {kind}/{name} has no spec.json", specPath);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(specPath));
        try
        {
            return new FixtureCase(kind, dir, doc.RootElement);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{specPath}: {e.Message}", e);
        }
    }

    /// <summary>Names of the cases under <c>fixtures/&lt;kind&gt;</c> that have a spec.json, sorted.</summary>
    public static IReadOnlyList<string> Names(string kind)
    {
        string dir = Path.Combine(RepoPaths.Fixtures, kind);
        if (!System.IO.Directory.Exists(dir)) return [];
        return System.IO.Directory.GetDirectories(dir)
            .Where(d => File.Exists(Path.Combine(d, "spec.json")))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>
    /// xunit MemberData source: one row per case, holding only the case name (a string, so the rows serialize
    /// and each case shows as its own test). Use with <see cref="Load"/>.
    /// </summary>
    public static IEnumerable<object[]> All(string kind) => Names(kind).Select(n => new object[] { n });

    public override string ToString() => $"{Kind}/{Name}";

    private static JsonElement Required(JsonElement spec, string property) =>
        spec.TryGetProperty(property, out var value)
            ? value
            : throw new KeyNotFoundException($"spec.json lacks \"{property}\"");

    private static FixtureInput ParseInput(JsonElement e)
    {
        string name = Required(e, "name").GetString() ?? throw new FormatException("input name is null");
        string dtypeName = Required(e, "dtype").GetString() ?? throw new FormatException("input dtype is null");
        var dtype = DataTypes.FromName(dtypeName) ?? throw new FormatException($"input {name}: unknown dtype \"{dtypeName}\"");
        var dims = Required(e, "dims").EnumerateArray().Select(d => d.ValueKind switch
        {
            JsonValueKind.Number => FixtureDim.Fixed(d.GetInt64()),
            JsonValueKind.String when d.GetString() == "batch" => FixtureDim.Batch,
            _ => throw new FormatException($"input {name}: dim {d.GetRawText()} is neither an integer nor \"batch\""),
        }).ToArray();
        return new FixtureInput(name, dtype, dims);
    }
}
