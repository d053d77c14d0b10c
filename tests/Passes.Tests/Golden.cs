using System.Runtime.CompilerServices;
using ModelForge.Convert.IR;
using ModelForge.Convert.Passes;

namespace ModelForge.Passes.Tests;

/// <summary>
/// Golden pass tests: the test builds the input graph, the pass runs (with the verifier after it), and both dumps are
/// compared with <c>fixtures/passes/&lt;Pass&gt;/&lt;case&gt;.input.ir</c> and <c>.expected.ir</c>. The case name is the
/// test method's name. <c>MODELFORGE_UPDATE_GOLDEN=1</c> rewrites the files; read the diff before committing it.
/// </summary>
internal static class Golden
{
    public static string Directory(IGraphPass pass) => RepoPaths.Fixture("passes", pass.Name);

    public static void Check(IGraphPass pass, Graph graph, int opset = 17, [CallerMemberName] string caseName = "")
    {
        var input = graph.Dump();
        new PassPipeline([pass]) { VerifyAfterEachPass = true }.Run(graph, new PassContext(opset));
        var expected = graph.Dump();
        Compare(Path.Combine(Directory(pass), caseName + ".input.ir"), input);
        Compare(Path.Combine(Directory(pass), caseName + ".expected.ir"), expected);
    }

    private static void Compare(string path, string actual)
    {
        if (Environment.GetEnvironmentVariable("MODELFORGE_UPDATE_GOLDEN") == "1")
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"{path} is missing; run the test with MODELFORGE_UPDATE_GOLDEN=1 to create it");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual.ReplaceLineEndings("\n"));
    }
}
