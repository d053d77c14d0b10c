using System.CommandLine;

namespace ModelForge.Cli.Commands;

/// <summary>Options shared by several commands, defined once so their help text stays the same.</summary>
internal static class CommonOptions
{
    public static Option<string[]> Inputs() => new("--input", "-i")
    {
        Description = "A forward() input as NAME:DTYPE[DIMS], once per input in order. DIMS are comma-separated ints " +
                      "(static) or names (dynamic, e.g. batch). Example: --input input:float32[batch,3,224,224]. " +
                      "DTYPE: float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool.",
        Required = true,
    };
}
