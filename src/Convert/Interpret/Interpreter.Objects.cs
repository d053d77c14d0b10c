using ModelForge.TorchScript.Pickle;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Interpret;

// Attribute assignment in scripted code: `self._has_warned = True` on a module, and instances of TorchScript classes
// made by the code itself (torchvision's ImageList).
public sealed partial class Interpreter
{
    // Module attributes the code assigned (a module pickled with a dict state), read before the pickled ones.
    private readonly Dictionary<PickleObject, Dictionary<string, object?>> _assigned = new(ReferenceEqualityComparer.Instance);

    /// <summary>A new instance of <paramref name="className"/>: no attributes until its <c>__init__</c> assigns them.</summary>
    private ModuleValue NewObject(string className)
    {
        var instance = new PickleObject(className);
        _restored[instance] = new Dictionary<string, object?>(StringComparer.Ordinal);
        return new ModuleValue(instance, _model.ResolveClass(className), className, "");
    }

    /// <summary>
    /// <c>obj.name = value</c>. The interpreter runs the forward once, so later reads in the same run see the value; inside a
    /// run-time <c>if</c> or loop it would be seen by the other branch too, so it is refused there.
    /// </summary>
    private void AssignAttribute(ModuleValue module, string name, object? value, SourceSpan span)
    {
        if (_restored.TryGetValue(module.Object, out var attributes))
        {
            attributes[name] = value; // __setstate__ or __init__ of an object made here
            return;
        }
        if (_graph.Parent is not null)
            throw Unsupported(span, $"attribute '{name}' of module '{DisplayPath(module)}' is assigned inside an `if` or loop whose " +
                                    "condition is only known at run time");
        if (!_assigned.TryGetValue(module.Object, out var assigned))
            _assigned[module.Object] = assigned = new Dictionary<string, object?>(StringComparer.Ordinal);
        assigned[name] = value;
    }
}
