//! What the two C-language event triggers share (attach/drop_guard.rs, which refuses
//! DROP EXTENSION while attached, and invalidate/partitions.rs, which follows
//! partitions of the attached tables): the trigger's context and the pieces of a
//! utility command's parse tree they read. Only a C function sees the parse tree;
//! PL/pgSQL knows the command tag alone.

use pgrx::pg_sys;
use std::ffi::CStr;

/// The EventTriggerData of an event trigger call; an error naming `function` when
/// it is called some other way (SELECT usage_rollup._drop_guard()).
///
/// # Safety
/// `fcinfo` is the function manager's call info of the current call.
pub unsafe fn data<'a>(fcinfo: pg_sys::FunctionCallInfo, function: &str) -> &'a pg_sys::EventTriggerData {
    // SAFETY: the context is checked to be EventTriggerData before it is read.
    unsafe {
        let context = (*fcinfo).context;
        if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_EventTriggerData {
            pgrx::error!("usage_rollup.{function}() is an event trigger function; it cannot be called directly");
        }
        &*(context as *const pg_sys::EventTriggerData)
    }
}

/// The parse tree's node, if it is one of type `tag`.
///
/// # Safety
/// `tree` is a parse tree node, or NULL.
pub unsafe fn node_of<T>(tree: *mut pg_sys::Node, tag: pg_sys::NodeTag) -> Option<*mut T> {
    // SAFETY: a node's first field is its tag.
    (!tree.is_null() && unsafe { (*tree).type_ } == tag).then_some(tree as *mut T)
}

/// The nodes of a List (empty for NIL).
///
/// # Safety
/// `list` is a valid List of pointers, or NULL.
pub unsafe fn list_nodes(list: *mut pg_sys::List) -> Vec<*mut pg_sys::Node> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: a valid pointer List.
    unsafe { (0..(*list).length).map(|i| pg_sys::list_nth(list, i) as *mut pg_sys::Node).collect() }
}

/// The text of a String node (a name in a DROP's object list); None for any other node.
///
/// # Safety
/// `node` is a parse tree node, or NULL.
#[cfg(not(any(feature = "pg13", feature = "pg14")))]
pub unsafe fn string_value(node: *mut pg_sys::Node) -> Option<String> {
    // SAFETY: a T_String node.
    unsafe { node_of::<pg_sys::String>(node, pg_sys::NodeTag::T_String) }
        .map(|s| unsafe { CStr::from_ptr((*s).sval) }.to_string_lossy().into_owned())
}

/// The text of a String node (a Value before PostgreSQL 15); None for any other node.
///
/// # Safety
/// `node` is a parse tree node, or NULL.
#[cfg(any(feature = "pg13", feature = "pg14"))]
pub unsafe fn string_value(node: *mut pg_sys::Node) -> Option<String> {
    // SAFETY: a T_String Value node.
    unsafe { node_of::<pg_sys::Value>(node, pg_sys::NodeTag::T_String) }
        .map(|s| unsafe { CStr::from_ptr((*s).val.str_) }.to_string_lossy().into_owned())
}
