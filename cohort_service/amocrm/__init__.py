"""amocrm"""
