namespace ModelForge.Package.Triton;

/// <summary>
/// One difference between the interface clients of a Triton model use and the interface a new version declares.
/// <paramref name="Clients"/> says who is affected; <paramref name="BreaksClients"/> is false for a change existing
/// requests survive (an added output, a dim widened to -1, a larger max_batch_size is no change at all).
/// </summary>
public sealed record InterfaceChange(string What, string Clients, bool BreaksClients)
{
    public override string ToString() => $"{What}: {Clients}";
}

/// <summary>
/// What clients of a Triton model depend on, read from a <c>config.pbtxt</c>: the platform (which decides the model file
/// every version holds), max_batch_size, and each input and output with its data type and the full shape a client
/// sends or receives (the batch dim included as -1 when max_batch_size &gt; 0, so turning batching on or off changes
/// nothing a client sees unless the shapes do).
/// </summary>
internal sealed record TritonInterface(string Platform, long MaxBatchSize, IReadOnlyList<TritonTensor> Inputs, IReadOnlyList<TritonTensor> Outputs)
{
    /// <exception cref="FormatException">The text is not protobuf text format, or lacks a field the interface needs.</exception>
    public static TritonInterface Read(string configText)
    {
        var config = PbtxtReader.Read(configText);
        var maxBatchSize = config.Numbers("max_batch_size").LastOrDefault();
        List<TritonTensor> Tensors(string field) => config.Messages(field).Select(tensor => new TritonTensor(
            tensor.Scalar("name") ?? throw new FormatException($"an {field} without a name"),
            tensor.Scalar("data_type") ?? throw new FormatException($"{field} '{tensor.Scalar("name")}' without a data_type"),
            (maxBatchSize > 0 ? new[] { -1L } : []).Concat(tensor.Numbers("dims")).ToList())).ToList();
        var platform = config.Scalar("platform") ?? config.Scalar("backend") ?? throw new FormatException("neither platform nor backend is set");
        return new TritonInterface(platform, maxBatchSize, Tensors("input"), Tensors("output"));
    }

    /// <summary>Every difference from this (the existing) interface to <paramref name="next"/>, inputs first, in the existing order.</summary>
    public List<InterfaceChange> ChangesTo(TritonInterface next)
    {
        var changes = new List<InterfaceChange>();
        if (next.Platform != Platform)
            changes.Add(new InterfaceChange($"platform {Platform} → {next.Platform}",
                "the versions already there hold the other backend's model file and fail to load under the new config", BreaksClients: false));
        if (next.MaxBatchSize > 0 && MaxBatchSize > next.MaxBatchSize)
            changes.Add(new InterfaceChange($"max_batch_size {MaxBatchSize} → {next.MaxBatchSize}",
                $"clients sending batches of {next.MaxBatchSize + 1} to {MaxBatchSize} break", BreaksClients: true));
        Compare("input", Inputs, next.Inputs, changes,
            removed: t => $"clients sending '{t.Name}' break (Triton refuses an unknown input)",
            added: t => ($"clients that do not send '{t.Name}' break", true),
            retyped: (old, _) => $"clients sending {old.DataType} break",
            reshaped: (old, now) => Accepts(now.Dims, old.Dims)
                ? ("no client breaks (the new dims accept every shape the old ones did)", false)
                : ($"clients sending {Shape(old.Dims)} break", true));
        Compare("output", Outputs, next.Outputs, changes,
            removed: t => $"clients requesting '{t.Name}' break",
            added: _ => ("no client breaks (clients that do not ask for it do not get it)", false),
            retyped: (old, _) => $"clients reading {old.DataType} break",
            reshaped: (old, _) => ($"clients expecting {Shape(old.Dims)} break", true));
        return changes;
    }

    private static void Compare(string kind, IReadOnlyList<TritonTensor> before, IReadOnlyList<TritonTensor> after, List<InterfaceChange> changes,
        Func<TritonTensor, string> removed, Func<TritonTensor, (string, bool)> added,
        Func<TritonTensor, TritonTensor, string> retyped, Func<TritonTensor, TritonTensor, (string Clients, bool Breaks)> reshaped)
    {
        foreach (var old in before)
        {
            var now = after.FirstOrDefault(t => t.Name == old.Name);
            if (now is null)
            {
                changes.Add(new InterfaceChange($"{kind} {old.Name}: removed", removed(old), BreaksClients: true));
                continue;
            }
            if (now.DataType != old.DataType)
                changes.Add(new InterfaceChange($"{kind} {old.Name}: data type {old.DataType} → {now.DataType}", retyped(old, now), BreaksClients: true));
            if (!now.Dims.SequenceEqual(old.Dims))
            {
                var (clients, breaks) = reshaped(old, now);
                changes.Add(new InterfaceChange($"{kind} {old.Name}: dims {Shape(old.Dims)} → {Shape(now.Dims)}", clients, breaks));
            }
        }
        foreach (var now in after.Where(t => before.All(old => old.Name != t.Name)))
        {
            var (clients, breaks) = added(now);
            changes.Add(new InterfaceChange($"{kind} {now.Name}: added {now.DataType} {Shape(now.Dims)}", clients, breaks));
        }
    }

    /// <summary>True when every shape <paramref name="old"/> accepts, <paramref name="now"/> accepts too (same rank, each dim equal or -1).</summary>
    private static bool Accepts(IReadOnlyList<long> now, IReadOnlyList<long> old) =>
        now.Count == old.Count && now.Zip(old).All(d => d.First == -1 || d.First == d.Second);

    private static string Shape(IReadOnlyList<long> dims) => "[" + string.Join(",", dims) + "]";
}
