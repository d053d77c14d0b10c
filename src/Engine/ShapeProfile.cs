using System.Globalization;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;

namespace ModelForge.Engine;

/// <summary>
/// One TensorRT optimisation profile for one input: the smallest, the tuned-for and the largest shape. Written on the
/// command line as <c>NAME:MIN/OPT/MAX</c> with <c>x</c>-separated dims, e.g. <c>x:1x3x224x224/8x3x224x224/32x3x224x224</c>;
/// ORT's provider options want each of the three as <c>NAME:1x3x224x224</c> (<see cref="Format"/>).
/// </summary>
public sealed record ShapeProfile(string Input, IReadOnlyList<long> Min, IReadOnlyList<long> Opt, IReadOnlyList<long> Max)
{
    public static ShapeProfile Parse(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0)
            throw Invalid(text, "is not NAME:MIN/OPT/MAX");
        var name = text[..colon].Trim();
        var shapes = text[(colon + 1)..].Split('/');
        if (name.Length == 0 || name.Contains(',') || shapes.Length != 3)
            throw Invalid(text, "is not NAME:MIN/OPT/MAX (three shapes separated by '/')");
        var min = ParseShape(text, shapes[0], "min");
        var opt = ParseShape(text, shapes[1], "opt");
        var max = ParseShape(text, shapes[2], "max");
        return new ShapeProfile(name, min, opt, max).Checked(text);
    }

    /// <summary>Throws unless the three shapes have one rank and min ≤ opt ≤ max in every dim.</summary>
    internal ShapeProfile Checked(string source)
    {
        if (Min.Count != Opt.Count || Opt.Count != Max.Count)
            throw Invalid(source, $"has shapes of different ranks ({Min.Count}, {Opt.Count}, {Max.Count})");
        for (var i = 0; i < Min.Count; i++)
        {
            if (Min[i] > Opt[i] || Opt[i] > Max[i])
                throw Invalid(source, $"has dim {i} with min {Min[i]}, opt {Opt[i]}, max {Max[i]}: it needs min ≤ opt ≤ max");
        }
        return this;
    }

    private static long[] ParseShape(string source, string shape, string which)
    {
        var parts = shape.Trim().Split('x');
        var dims = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] < 1)
                throw Invalid(source, $"has {which} shape '{shape}', which is not positive ints separated by 'x'");
        }
        return dims;
    }

    /// <summary>ORT's per-input profile syntax, <c>NAME:d1xd2x…</c>.</summary>
    public static string Format(string input, IReadOnlyList<long> shape) =>
        $"{input}:{string.Join("x", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}";

    /// <summary>The command-line form, <c>NAME:MIN/OPT/MAX</c>; <see cref="Parse"/> reads it back.</summary>
    public override string ToString() =>
        $"{Input}:{Dims(Min)}/{Dims(Opt)}/{Dims(Max)}";

    private static string Dims(IReadOnlyList<long> shape) => string.Join("x", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));

    internal static ModelForgeException Invalid(string source, string problem) =>
        new(DiagnosticCode.EngineProfileInvalid, $"--profile '{source}' {problem}", null,
            "write a profile as NAME:MIN/OPT/MAX, e.g. --profile x:1x3x224x224/8x3x224x224/32x3x224x224");
}

/// <summary>Completes the user's profiles with defaults so that every dynamic input has exactly one.</summary>
public static class ShapeProfiles
{
    /// <summary>
    /// One profile per input that has a symbolic dim, in input order. A user profile must name a declared input, have
    /// its rank and keep its static dims. An input without one gets the default, its <see cref="InputShapes"/> at batch 1
    /// and at <paramref name="maxBatch"/>: the batch dim (<see cref="BatchDim"/>, the rule validate and the tuner use)
    /// spans 1..<paramref name="maxBatch"/> with opt = <paramref name="maxBatch"/> (a dynamic batcher under load fills
    /// batches, so that is the shape worth tuning for), static dims fixed. Any other symbolic dim (a sequence length)
    /// has no sensible default and needs a <c>--profile</c>. Fully static inputs get no profile: ORT builds those at
    /// session creation without one.
    /// </summary>
    public static IReadOnlyList<ShapeProfile> Resolve(IReadOnlyList<InputSpec> inputs, IReadOnlyList<ShapeProfile> given, int maxBatch)
    {
        if (maxBatch < 1)
            throw new ModelForgeException(DiagnosticCode.EngineTargetInvalid, $"--max-batch {maxBatch} is not positive", null,
                $"use a batch size of 1 or more; the default is {EngineTarget.DefaultMaxBatch}");
        var byName = new Dictionary<string, ShapeProfile>(StringComparer.Ordinal);
        foreach (var profile in given)
        {
            var spec = inputs.FirstOrDefault(i => i.Name == profile.Input)
                ?? throw ShapeProfile.Invalid(profile.ToString(), $"names input '{profile.Input}', which is not declared (inputs: {string.Join(", ", inputs.Select(i => i.Name))})");
            if (!byName.TryAdd(profile.Input, profile))
                throw ShapeProfile.Invalid(profile.ToString(), $"is the second profile for input '{profile.Input}'; " +
                    "ORT's TensorRT provider only ever selects its first profile at run time, so give one per input");
            if (profile.Min.Count != spec.Dims.Count)
                throw ShapeProfile.Invalid(profile.ToString(), $"has rank {profile.Min.Count} but input {spec} has rank {spec.Dims.Count}");
            for (var i = 0; i < spec.Dims.Count; i++)
            {
                if (spec.Dims[i].Value is { } size && (profile.Min[i] != size || profile.Opt[i] != size || profile.Max[i] != size))
                    throw ShapeProfile.Invalid(profile.ToString(), $"changes dim {i} of input {spec}, which is static ({size})");
            }
        }

        var batchDim = BatchDim.Of(inputs);
        var none = new Dictionary<string, long>();
        var smallest = InputShapes.At(inputs, 1, none);
        var largest = InputShapes.At(inputs, maxBatch, none);
        var result = new List<ShapeProfile>();
        for (var i = 0; i < inputs.Count; i++)
        {
            var spec = inputs[i];
            if (byName.TryGetValue(spec.Name, out var profile)) { result.Add(profile); continue; }
            if (spec.Dims.All(d => d.IsStatic)) continue;
            if (smallest.Unsized.FirstOrDefault(u => u.Input == i) is { Symbol: { } symbol } unsized)
                throw new ModelForgeException(DiagnosticCode.EngineProfileInvalid,
                    $"input {spec} has symbolic dim '{symbol}' (dim {unsized.Dim}), which is not the batch dim, and no --profile", null,
                    $"give its range, e.g. --profile {spec.Name}:{Example(spec, batchDim, 1, 1)}/{Example(spec, batchDim, maxBatch, 128)}/{Example(spec, batchDim, maxBatch, 512)}");
            result.Add(new ShapeProfile(spec.Name, smallest.Shapes[i], largest.Shapes[i], largest.Shapes[i]));
        }
        return result;
    }

    private static string Example(InputSpec spec, string? batchDim, long batch, long other) =>
        string.Join("x", spec.Dims.Select(d => d.Value ?? (d.Symbol == batchDim ? batch : other)));

    /// <summary>The static shape of an input that has no profile (every dim fixed).</summary>
    public static long[] StaticShape(InputSpec spec) =>
        spec.Dims.Select(d => d.Value ?? throw new InvalidOperationException($"input {spec} is dynamic")).ToArray();
}
