using System.CommandLine;
using ModelForge.Convert.Ops;
using ModelForge.Convert.Passes;
using ModelForge.Model;
using ModelForge.Package.Tuning;

namespace ModelForge.Cli.Commands;

/// <summary>Options shared by several commands, defined once so their help text stays the same.</summary>
internal static class CommonOptions
{
    private const string QuietName = "--quiet";
    private const string VerboseName = "--verbose";

    /// <summary><c>-q</c> and <c>-v</c>, on the root and every command below it.</summary>
    public static void AddVerbosity(RootCommand root)
    {
        var quiet = new Option<bool>(QuietName, "-q")
        {
            Description = "Print nothing on stdout: only warnings and errors (stderr) and the exit code.",
            Recursive = true,
        };
        var verbose = new Option<bool>(VerboseName, "-v")
        {
            Description = "Also print what each step did in detail (for convert and build: every graph pass with its time).",
            Recursive = true,
        };
        root.Options.Add(quiet);
        root.Options.Add(verbose);
    }

    /// <param name="defaultLevel">The level when left out; null where another source (the spec) decides.</param>
    public static Option<string?> Tune(string? defaultLevel)
    {
        var tune = new Option<string?>("--tune")
        {
            HelpName = "off|quick|full",
            Description = "Batch tuning: quick (a guided search), full (a larger grid), off (max batch 8, no measurement)." +
                          (defaultLevel is null ? " Overrides the spec's package.tuning." : ""),
        };
        if (defaultLevel is not null) tune.DefaultValueFactory = _ => defaultLevel;
        tune.AcceptOnlyFromAmong("off", "quick", "full");
        return tune;
    }

    /// <summary>
    /// Adds <c>--retune</c> and <c>--locked</c> to <paramref name="command"/> (they exclude each other: MF5005) and
    /// returns how to read the mode they select; <paramref name="lockIs"/> says where the command's lock is.
    /// </summary>
    public static Func<ParseResult, TuningLockMode> AddTuningLockModes(Command command, string lockIs)
    {
        var retune = new Option<bool>("--retune")
        {
            Description = $"Measure the batching again even though the tuning lock ({lockIs}) matches, and record the new decision.",
        };
        var locked = new Option<bool>("--locked")
        {
            Description = $"Reuse the tuning lock ({lockIs}) and measure nothing; stop with MF4057 (exit 2) when it is missing or no " +
                          "longer matches the model, the tuning settings or this machine. For CI: the bundle is what was committed.",
        };
        command.Options.Add(retune);
        command.Options.Add(locked);
        command.Validators.Add(result =>
        {
            if (result.GetValue(retune) && result.GetValue(locked)) result.AddError("--retune and --locked exclude each other");
        });
        return parse => parse.GetValue(retune) ? TuningLockMode.Retune : parse.GetValue(locked) ? TuningLockMode.Locked : TuningLockMode.Reuse;
    }

    public static TuningLevel TuningLevelOf(string level) => Enum.Parse<TuningLevel>(level, ignoreCase: true);

    public static bool IsQuiet(ParseResult parse) => parse.GetValue<bool>(QuietName);

    public static bool IsVerbose(ParseResult parse) => parse.GetValue<bool>(VerboseName);

    public static Option<string[]> Inputs() => new("--input", "-i")
    {
        HelpName = "NAME:DTYPE[DIMS]",
        Description = "A forward() input as NAME:DTYPE[DIMS], once per input in order. DIMS are comma-separated ints " +
                      "(static) or names (dynamic, e.g. batch). Example: --input input:float32[batch,3,224,224]. " +
                      "DTYPE: float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool.",
        Required = true,
    };

    /// <summary><c>--dim NAME=MIN/OPT/MAX</c>, one spelling for dim ranges wherever a command takes them.</summary>
    /// <param name="use">What the command does with the ranges, a sentence or two.</param>
    /// <param name="defaultRange">The range a dim without one gets, if any, shown as <c>[default: …]</c> like every default.</param>
    public static Option<string[]> Dims(string use, string? defaultRange = null) => new("--dim")
    {
        HelpName = DimRange.Syntax,
        Description = "Range of a symbolic dim of the inputs as NAME=MIN/OPT/MAX (NAME=MIN/MAX: opt = max; NAME=SIZE: fixed), as a " +
                      $"spec's \"dims\" gives it. {use} Repeatable, once per dim." + (defaultRange is null ? "" : $" [default: {defaultRange}]"),
    };

    /// <summary>No default value: <c>build</c> must tell an option given from one left out (a spec sets these itself).</summary>
    public static Option<int?> Opset() => new("--opset")
    {
        Description = $"Target ONNX opset, {OpRegistry.MinOpset} to {OpRegistry.MaxOpset}. [default: {OpRegistry.DefaultOpset}]",
    };

    public static Option<string?> Optimize()
    {
        var optimize = new Option<string?>("--optimize")
        {
            Description = "Graph optimisation: none (as lowered), basic (dead code, identities, constant and shape folding, value_info) " +
                          "or all (basic plus BatchNorm folding, Gemm, LayerNormalization and Gelu fusion). See docs/optimization.md. [default: all]",
        };
        optimize.AcceptOnlyFromAmong("none", "basic", "all");
        return optimize;
    }

    public static OptimizeLevel OptimizeLevelOf(string? value) =>
        value is null ? OptimizeLevel.All : Enum.Parse<OptimizeLevel>(value, ignoreCase: true);

    /// <param name="replaces">What the run replaces, e.g. "the output folder".</param>
    public static Option<bool> Force(string replaces) => new("--force")
    {
        Description = $"Replace {replaces} even when ModelForge did not write it. Without --force that is refused (MF5004, exit 2) " +
                      "and nothing is touched; what ModelForge wrote is replaced without asking.",
    };

    public static Option<bool> ExternalData() => new("--external-data")
    {
        Description = "Write the weights to one side file MODEL.onnx.data (ONNX external data). Done automatically when the model " +
                      "would exceed protobuf's 2 GB limit.",
    };

    /// <summary>Hidden: lets tests exercise the external-data path on small models (convert, optimize).</summary>
    public static Option<long?> ExternalDataThreshold() => new("--external-data-threshold")
    {
        Description = "Model size in bytes above which weights go to external data; for tests. [default: 2 GiB − 1]",
        Hidden = true,
    };
}
