using System.Runtime.CompilerServices;
using System.Text;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Tests.Script;

/// <summary>
/// Real <c>code/__torch__/…py</c> files written by PyTorch 1.13's <c>torch.jit.save</c> (traced and scripted torchvision
/// models, nn.LSTM, nn.MultiheadAttention, and small custom modules), copied into <c>Script/Corpus/</c>.
/// </summary>
public class ScriptCorpusTests
{
    private static string CorpusDir([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "Corpus");

    private static ScriptFile ParseCorpus(string name)
    {
        var text = File.ReadAllText(Path.Combine(CorpusDir(), name), Encoding.UTF8);
        return ScriptParser.Parse(text, "code/__torch__/" + name);
    }

    [Theory]
    [InlineData("batchnorm_scripted.py", 1, 2, 0)]
    [InlineData("batchnorm_traced.py", 1, 1, 0)]
    [InlineData("classes_scripted.py", 5, 6, 0)]
    [InlineData("custom_container.py", 1, 1, 0)]
    [InlineData("custom_scripted.py", 1, 1, 0)]
    [InlineData("densenet_layer_scripted.py", 1, 4, 0)]
    [InlineData("functional_free.py", 0, 0, 1)]
    [InlineData("lstm_scripted.py", 1, 8, 1)]
    [InlineData("mha_scripted.py", 1, 1, 0)]
    [InlineData("resnet18_scripted.py", 1, 2, 0)]
    [InlineData("resnet18_traced.py", 2, 2, 0)]
    [InlineData("swin_traced.py", 4, 4, 0)]
    public void CorpusFileParses(string name, int classes, int methods, int functions)
    {
        var file = ParseCorpus(name);
        Assert.Equal(classes, file.Classes.Count);
        Assert.Equal(methods, file.Classes.Sum(c => c.Methods.Count));
        Assert.Equal(functions, file.Functions.Count);
        foreach (var method in file.Classes.SelectMany(c => c.Methods).Concat(file.Functions))
            Assert.NotEmpty(method.Body);
    }

    [Fact]
    public void EveryCorpusFileIsCovered()
    {
        var names = Directory.GetFiles(CorpusDir(), "*.py").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(12, names.Length);
        foreach (var name in names) ParseCorpus(name!);
    }

    [Fact]
    public void ContainerClassBodyKeepsAnnotations()
    {
        var moduleList = Assert.Single(ParseCorpus("custom_container.py").Classes);
        Assert.Equal("ModuleList", moduleList.Name);
        var annotations = moduleList.Body.OfType<AssignStmt>()
            .Where(a => a.Targets[0] is SubscriptExpr { Target: NameExpr { Id: "__annotations__" } })
            .Select(a => AstPrinter.Print(a.Targets[0]) + " = " + AstPrinter.Print(a.Value))
            .ToArray();
        Assert.Equal(
        [
            "__annotations__['0'] = __torch__.torch.nn.modules.linear.Linear",
            "__annotations__['1'] = __torch__.torch.nn.modules.linear.Linear",
            "__annotations__['2'] = __torch__.torch.nn.modules.linear.Linear",
        ], annotations);
        var len = Assert.Single(moduleList.Methods);
        Assert.Equal("__len__", len.Name);
        Assert.Equal(3L, Assert.IsType<ConstantExpr>(Assert.IsType<ReturnStmt>(Assert.Single(len.Body)).Value).Value);
    }

    [Fact]
    public void ScriptedCustomModuleHasLoopsAndBranches()
    {
        var forward = Assert.Single(Assert.Single(ParseCorpus("custom_scripted.py").Classes).Methods);
        Assert.Equal(["self", "x", "n", "s", "f", "ys"], forward.Parameters.Select(p => p.Name));
        Assert.Equal("a\"b'\n", Assert.IsType<ConstantExpr>(forward.Parameters[3].Default).Value);
        Assert.Equal("Tuple[(Tensor, List[int], Dict[(str, float)])]", AstPrinter.Print(forward.ReturnType!));

        var whileLoop = Assert.Single(forward.Body.OfType<WhileStmt>());
        Assert.Equal("(_1, i)", AstPrinter.Print(Assert.IsType<AssignStmt>(whileLoop.Body[^1]).Targets[0]));
        Assert.Single(forward.Body.OfType<ForStmt>());
        Assert.Equal(3, forward.Body.OfType<IfStmt>().Count());
        var dict = forward.Body.OfType<AssignStmt>().Single(a => a.Value is DictExpr);
        Assert.Equal("{'a': 1f, 'b': inf, 'c': (-inf), 'd': nan}", AstPrinter.Print(dict.Value));
        Assert.IsType<TupleExpr>(Assert.IsType<ReturnStmt>(forward.Body[^1]).Value);
    }

    [Fact]
    public void ScriptedDenseLayerUsesUninitialized()
    {
        var layer = Assert.Single(ParseCorpus("densenet_layer_scripted.py").Classes);
        Assert.Equal("_DenseLayer", layer.Name);
        var first = layer.Methods[0];
        Assert.Equal("forward__0", first.Name);
        var uninitialized = first.Body.OfType<AssignStmt>().Select(a => AstPrinter.Print(a.Value)).ToArray();
        Assert.Contains("uninitialized(Tensor)", uninitialized);
        Assert.Contains("unchecked_cast(List[Tensor], input)", uninitialized);
    }
}
